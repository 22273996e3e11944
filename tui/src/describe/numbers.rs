//! Number and time formatting shared by the widgets: thousands separators, rates,
//! percentages and UTC wall-clock times (no time-zone database, so the screen is the same
//! on every machine and in every test).

use observe_proto::Timestamp;

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count in at most 5 characters: `999`, `12.3k`, `4.5M`.
pub fn compact(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// `part` of `whole` in percent, 0 when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        return 0;
    }
    (u128::from(part) * 100 / u128::from(whole)) as u64
}

/// `HH:MM:SS.mmm` (UTC) of `time`, or `--:--:--.---` when unknown.
pub fn clock(time: Option<&Timestamp>) -> String {
    let Some(t) = time else {
        return "--:--:--.---".into();
    };
    let secs = t.seconds.rem_euclid(86_400);
    let millis = t.nanos.clamp(0, 999_999_999) / 1_000_000;
    format!(
        "{:02}:{:02}:{:02}.{millis:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated_with_commas() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn compact_counts_fit_in_five_characters() {
        assert_eq!(compact(9_999), "9999");
        assert_eq!(compact(12_345), "12.3k");
        assert_eq!(compact(4_500_000), "4.5M");
    }

    #[test]
    fn clock_times_are_utc_with_milliseconds() {
        let t = Timestamp {
            seconds: 1_764_130_912,
            nanos: 123_456_789,
        };
        assert_eq!(clock(Some(&t)), "04:21:52.123");
        assert_eq!(clock(None), "--:--:--.---");
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(5, 0), 0);
    }
}
