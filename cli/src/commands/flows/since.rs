//! `--since` / `--until` values, as Hubble reads them: a Go duration before now (`3s`,
//! `4m`, `1h43m`, `1.5h`, `250ms`) or an absolute time in one of the layouts Hubble
//! accepts: `2006-01-02` (YearMonthDay, UTC), `2006-01-02T15Z07:00`,
//! `2006-01-02T15:04Z07:00`, RFC 3339 with or without fraction, and RFC 1123 with a
//! numeric zone (`Mon, 02 Jan 2006 15:04:05 -0700`).

use std::time::SystemTime;

use observe_proto::Timestamp;

use crate::output::flows::time::{civil_from_days, days_from_civil, month_number};

const NANOS: i128 = 1_000_000_000;

/// Parses a `--since`/`--until` value relative to the current time.
pub fn parse(text: &str) -> Result<Timestamp, String> {
    parse_at(text, SystemTime::now())
}

/// Parses a `--since`/`--until` value relative to `now`.
pub fn parse_at(text: &str, now: SystemTime) -> Result<Timestamp, String> {
    if let Some(ago) = go_duration(text) {
        return Ok(Timestamp::from_unix_nanos(
            Timestamp::from(now).unix_nanos() - ago,
        ));
    }
    absolute(text.trim())
        .filter(Timestamp::is_valid)
        .ok_or_else(|| {
            "expected a duration such as 3s, 4m or 1h43m, or a time such as \
             2024-03-14T16:53:01Z, 2024-03-14, 2024-03-14T16:53Z or \
             'Thu, 14 Mar 2024 16:53:01 +0000'"
                .into()
        })
}

/// A Go duration in nanoseconds: `[+-]` then one or more `<number><unit>`.
fn go_duration(text: &str) -> Option<i128> {
    let (sign, mut rest) = match text.as_bytes().first()? {
        b'-' => (-1, &text[1..]),
        b'+' => (1, &text[1..]),
        _ => (1, text),
    };
    if rest == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let unit_len = rest[num_len..]
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len() - num_len);
        let value: f64 = rest[..num_len].parse().ok()?;
        let unit = match &rest[num_len..num_len + unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * unit;
        rest = &rest[num_len + unit_len..];
    }
    Some(sign * total as i128)
}

fn absolute(text: &str) -> Option<Timestamp> {
    if text.contains(',') {
        return rfc1123z(text);
    }
    let (date, time) = match text.split_once(['T', 't']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let days = date_days(date)?;
    let (seconds, nanos) = match time {
        None => (0, 0),
        Some(time) => clock_with_zone(time)?,
    };
    Some(Timestamp::from_unix_nanos(
        i128::from(days * 86_400 + seconds) * NANOS + i128::from(nanos),
    ))
}

/// `YYYY-MM-DD` as days since the epoch.
fn date_days(date: &str) -> Option<i64> {
    let mut parts = date.split('-');
    let year = fixed(parts.next()?, 4)?;
    let month = fixed(parts.next()?, 2)?;
    let day = fixed(parts.next()?, 2)?;
    let days = days_from_civil(year, month, day);
    // Out-of-range days and months do not survive the round trip (2024-02-30).
    let valid = parts.next().is_none() && civil_from_days(days) == (year, month, day);
    valid.then_some(days)
}

/// `HH[:MM[:SS[.frac]]]` followed by `Z` or `±HH:MM`, as UTC seconds of day and nanos.
fn clock_with_zone(time: &str) -> Option<(i64, i32)> {
    let zone_at = time.find(['Z', 'z', '+', '-'])?;
    let (clock, zone) = time.split_at(zone_at);
    let offset = zone_offset(zone)?;
    let (clock, fraction) = match clock.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (clock, None),
    };
    let mut fields = clock.split(':');
    let hour = fixed(fields.next()?, 2)?;
    let minute = fields.next().map_or(Some(0), |m| fixed(m, 2))?;
    let second = fields.next().map_or(Some(0), |s| fixed(s, 2))?;
    let nanos = match fraction {
        Some(f) if (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<i32>().ok()? * 10i32.pow(9 - f.len() as u32)
        }
        Some(_) => return None,
        None => 0,
    };
    let valid = fields.next().is_none() && hour < 24 && minute < 60 && second < 60;
    valid.then_some((hour * 3600 + minute * 60 + second - offset, nanos))
}

/// `Z`, `±HH:MM` or `±HHMM` as seconds east of UTC.
fn zone_offset(zone: &str) -> Option<i64> {
    if zone.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = zone[1..].replace(':', "");
    if digits.len() != 4 {
        return None;
    }
    let hours = fixed(&digits[..2], 2)?;
    let minutes = fixed(&digits[2..], 2)?;
    Some(sign * (hours * 3600 + minutes * 60))
}

/// `Mon, 02 Jan 2006 15:04:05 -0700`.
fn rfc1123z(text: &str) -> Option<Timestamp> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [_weekday, day, month, year, clock, zone] = fields.as_slice() else {
        return None;
    };
    let days = days_from_civil(fixed(year, 4)?, month_number(month)?, fixed(day, 2)?);
    let (seconds, _) = clock_with_zone(&format!("{clock}{zone}"))?;
    Some(Timestamp::from_unix_nanos(
        i128::from(days * 86_400 + seconds) * NANOS,
    ))
}

/// Exactly `width` ASCII digits.
fn fixed(text: &str, width: usize) -> Option<i64> {
    (text.len() == width && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(text: &str) -> Result<i64, String> {
        let now = UNIX_EPOCH + Duration::from_secs(1_710_435_181);
        parse_at(text, now).map(|t| t.seconds)
    }

    #[test]
    fn relative_durations_count_back_from_now() {
        assert_eq!(at("3s"), Ok(1_710_435_178));
        assert_eq!(at("4m"), Ok(1_710_434_941));
        assert_eq!(at("1h43m"), Ok(1_710_435_181 - 6180));
        assert_eq!(at("1.5h"), Ok(1_710_435_181 - 5400));
        assert_eq!(at("0"), Ok(1_710_435_181));
        assert!(at("3 s").is_err());
        assert!(at("3d").is_err());
    }

    #[test]
    fn absolute_layouts_hubble_accepts() {
        let t = 1_710_435_181; // 2024-03-14T16:53:01Z
        assert_eq!(at("2024-03-14T16:53:01Z"), Ok(t));
        assert_eq!(at("2024-03-14T18:53:01+02:00"), Ok(t));
        assert_eq!(at("2024-03-14T16:53:01.250Z"), Ok(t));
        assert_eq!(at("2024-03-14T16:53:01.123456789Z"), Ok(t));
        assert_eq!(at("2024-03-14"), Ok(t - 16 * 3600 - 53 * 60 - 1));
        assert_eq!(at("2024-03-14T16Z"), Ok(t - 53 * 60 - 1));
        assert_eq!(at("2024-03-14T16:53Z"), Ok(t - 1));
        assert_eq!(at("Thu, 14 Mar 2024 16:53:01 +0000"), Ok(t));
        assert_eq!(at("Thu, 14 Mar 2024 17:53:01 +0100"), Ok(t));
    }

    #[test]
    fn bad_times_say_what_is_accepted() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-02-30",
            "2024-03-14T16:53:01",
            "2024-03-14T25:00Z",
            "Jan  1 00:20:34.567",
            "2024-03-14T16:53:01.Z",
        ] {
            let err = at(bad).unwrap_err();
            assert!(err.contains("1h43m"), "{bad}: {err}");
        }
    }
}
