//! Go's duration syntax (`time.ParseDuration`), the one grammar of `--since`, `--until`,
//! `--timeout`, `--request-timeout`, the config file's timeouts and observerd's
//! `--tofqdns-*` durations (Cilium's are Go durations too): an optional sign, then
//! one or more `<number><unit>` (`300ms`, `1.5h`, `2h45m`) with the units `ns`, `us` (or
//! `µs`), `ms`, `s`, `m` and `h`; a bare `0` needs no unit. Like Go, a value beyond about
//! 292 years (`i64` nanoseconds) is an error, never a wrapped or saturated number.

use std::time::Duration;

/// Nanoseconds per unit, by the unit's name.
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Fraction digits that count; later ones are below a nanosecond even for hours.
const FRACTION_DIGITS: usize = 18;

/// Parses a Go duration into signed nanoseconds.
///
/// # Errors
///
/// The text is not a Go duration (one line saying what is expected), or it is out of
/// Go's range.
pub fn parse_nanos(text: &str) -> Result<i64, String> {
    let invalid = || format!("invalid duration {text:?}: expected e.g. 500ms, 5s, 2m or 1h30m");
    let too_long = || format!("duration {text:?} is out of range: at most 2562047h (292 years)");
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body == "0" {
        return Ok(0);
    }
    if body.is_empty() {
        return Err(invalid());
    }
    let mut total = 0u128;
    let mut rest = body;
    while !rest.is_empty() {
        let (nanos, tail) = component(rest).ok_or_else(invalid)?;
        total = total.saturating_add(nanos);
        rest = tail;
    }
    // Go's range is that of i64 nanoseconds: one more below zero than above.
    let magnitude = i128::try_from(total)
        .ok()
        .filter(|m| *m <= 1 << 63)
        .ok_or_else(too_long)?;
    i64::try_from(if negative { -magnitude } else { magnitude }).map_err(|_| too_long())
}

/// Parses a non-negative Go duration, for timeouts.
///
/// # Errors
///
/// As [`parse_nanos`], and for a negative duration.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let nanos = parse_nanos(text)?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| format!("invalid duration {text:?}: a timeout cannot be negative"))
}

/// One `<number><unit>` at the start of `text`: its nanoseconds (saturated) and the rest.
fn component(text: &str) -> Option<(u128, &str)> {
    let (whole, rest) = split_digits(text);
    let (fraction, rest) = match rest.strip_prefix('.') {
        Some(after) => split_digits(after),
        None => ("", rest),
    };
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let unit_len = rest
        .find(|c: char| c == '.' || c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (unit, rest) = rest.split_at(unit_len);
    let per_unit = UNITS.iter().find(|(name, _)| *name == unit)?.1;
    let fraction = &fraction[..fraction.len().min(FRACTION_DIGITS)];
    let scale = 10u128.pow(fraction.len() as u32);
    let nanos = value(whole)
        .saturating_mul(per_unit)
        .saturating_add(value(fraction) * per_unit / scale);
    Some((nanos, rest))
}

/// The leading ASCII digits of `text`, and the rest.
fn split_digits(text: &str) -> (&str, &str) {
    text.split_at(text.bytes().take_while(u8::is_ascii_digit).count())
}

/// The value of ASCII digits, saturated.
fn value(digits: &str) -> u128 {
    digits.bytes().fold(0u128, |n, d| {
        n.saturating_mul(10).saturating_add(u128::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;

    #[test]
    fn durations_parse() {
        assert_eq!(
            parse_timeout("500ms").unwrap(),
            std::time::Duration::from_millis(500)
        );
        assert_eq!(
            parse_timeout("2m").unwrap(),
            std::time::Duration::from_secs(120)
        );
        assert!(parse_timeout("5 parsecs").is_err());
    }

    #[test]
    fn every_unit_and_form_go_accepts() {
        assert_eq!(parse_nanos("0"), Ok(0));
        assert_eq!(parse_nanos("-0"), Ok(0));
        assert_eq!(parse_nanos("1ns"), Ok(1));
        assert_eq!(parse_nanos("1us"), Ok(1_000));
        assert_eq!(parse_nanos("1µs"), Ok(1_000));
        assert_eq!(parse_nanos("1μs"), Ok(1_000));
        assert_eq!(parse_nanos("1.5h"), Ok(5_400 * SECOND));
        assert_eq!(parse_nanos("1h43m"), Ok(6_180 * SECOND));
        assert_eq!(parse_nanos(".5s"), Ok(SECOND / 2));
        assert_eq!(parse_nanos("5.s"), Ok(5 * SECOND));
        assert_eq!(parse_nanos("+3s"), Ok(3 * SECOND));
        assert_eq!(parse_nanos("-1m30s"), Ok(-90 * SECOND));
        assert_eq!(parse_nanos("1.000000000000000000001s"), Ok(SECOND));
        assert_eq!(parse_nanos("2562047h47m16.854775807s"), Ok(i64::MAX));
        assert_eq!(parse_nanos("-2562047h47m16.854775808s"), Ok(i64::MIN));
    }

    #[test]
    fn what_go_refuses_is_an_error() {
        for bad in [
            "", "5", "3 s", " 5s", "5s ", "3d", "h", ".s", "-", "+", "1h-5m", "1.2.3s", "0x10s",
        ] {
            let err = parse_nanos(bad).unwrap_err();
            assert!(err.contains("expected e.g. 500ms"), "{bad:?}: {err}");
        }
        assert!(
            parse_timeout("-5s")
                .unwrap_err()
                .contains("cannot be negative")
        );
    }

    #[test]
    fn a_duration_beyond_292_years_is_out_of_range_not_a_panic() {
        for long in [
            "99999999999999999999h",
            "2562048h",
            "2562047h47m16.854775808s",
            "9999999999999999999999999999999999999999999999999ns",
        ] {
            let err = parse_nanos(long).unwrap_err();
            assert!(err.contains("out of range"), "{long:?}: {err}");
        }
    }
}
