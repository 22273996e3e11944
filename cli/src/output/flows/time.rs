//! Timestamps as Hubble prints them (`--time-format`), always in UTC like Hubble: Go's
//! layouts written as chrono formats, plus Go's `.999` fractions, which drop trailing
//! zeros (chrono has no such format).

use observe_proto::Timestamp;

/// `--time-format` names (Hubble's).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeFormat {
    /// `Jan _2 15:04:05.000`
    #[default]
    #[value(name = "StampMilli")]
    StampMilli,
    /// `2006-01-02`
    #[value(name = "YearMonthDay")]
    YearMonthDay,
    /// `2006-01-02T15Z07:00`
    #[value(name = "YearMonthDayHour")]
    YearMonthDayHour,
    /// `2006-01-02T15:04Z07:00`
    #[value(name = "YearMonthDayHourMinute")]
    YearMonthDayHourMinute,
    /// `2006-01-02T15:04:05Z07:00`
    #[value(name = "RFC3339")]
    Rfc3339,
    /// RFC 3339 with up to 3 fractional digits
    #[value(name = "RFC3339Milli")]
    Rfc3339Milli,
    /// RFC 3339 with up to 6 fractional digits
    #[value(name = "RFC3339Micro")]
    Rfc3339Micro,
    /// RFC 3339 with up to 9 fractional digits
    #[value(name = "RFC3339Nano")]
    Rfc3339Nano,
    /// `Mon, 02 Jan 2006 15:04:05 -0700`
    #[value(name = "RFC1123Z")]
    Rfc1123Z,
}

/// Formats `ts` (UTC); `N/A` when missing or out of range, as Hubble prints it.
pub fn format(ts: Option<&Timestamp>, format: TimeFormat) -> String {
    let Some(time) = ts.and_then(Timestamp::to_datetime) else {
        return "N/A".into();
    };
    let layout = |layout: &str| time.format(layout).to_string();
    let nanos = time.timestamp_subsec_nanos();
    let rfc3339 = |digits| {
        format!(
            "{}{}Z",
            layout("%Y-%m-%dT%H:%M:%S"),
            fraction(nanos, digits)
        )
    };
    match format {
        TimeFormat::StampMilli => layout("%b %e %H:%M:%S%.3f"),
        TimeFormat::YearMonthDay => layout("%Y-%m-%d"),
        TimeFormat::YearMonthDayHour => layout("%Y-%m-%dT%HZ"),
        TimeFormat::YearMonthDayHourMinute => layout("%Y-%m-%dT%H:%MZ"),
        TimeFormat::Rfc3339 => layout("%Y-%m-%dT%H:%M:%SZ"),
        TimeFormat::Rfc3339Milli => rfc3339(3),
        TimeFormat::Rfc3339Micro => rfc3339(6),
        TimeFormat::Rfc3339Nano => rfc3339(9),
        TimeFormat::Rfc1123Z => layout("%a, %d %b %Y %H:%M:%S +0000"),
    }
}

/// Go's `.999…` layouts: up to `digits` digits, trailing zeros dropped, no dot for zero.
fn fraction(nanos: u32, digits: u32) -> String {
    let value = nanos / 10u32.pow(9 - digits);
    let text = format!("{value:0width$}", width = digits as usize);
    let trimmed = text.trim_end_matches('0');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!(".{trimmed}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::flows::since;

    fn ts(seconds: i64, nanos: i32) -> Timestamp {
        Timestamp { seconds, nanos }
    }

    #[test]
    fn every_format_like_hubble() {
        // 2024-01-01T00:20:34.567Z, a Monday.
        let t = ts(1_704_068_434, 567_000_000);
        let cases = [
            (TimeFormat::StampMilli, "Jan  1 00:20:34.567"),
            (TimeFormat::YearMonthDay, "2024-01-01"),
            (TimeFormat::YearMonthDayHour, "2024-01-01T00Z"),
            (TimeFormat::YearMonthDayHourMinute, "2024-01-01T00:20Z"),
            (TimeFormat::Rfc3339, "2024-01-01T00:20:34Z"),
            (TimeFormat::Rfc3339Milli, "2024-01-01T00:20:34.567Z"),
            (TimeFormat::Rfc3339Micro, "2024-01-01T00:20:34.567Z"),
            (TimeFormat::Rfc3339Nano, "2024-01-01T00:20:34.567Z"),
            (TimeFormat::Rfc1123Z, "Mon, 01 Jan 2024 00:20:34 +0000"),
        ];
        for (f, want) in cases {
            assert_eq!(format(Some(&t), f), want, "{f:?}");
        }
        let nano = ts(1_704_068_434, 120_450_001);
        assert_eq!(
            format(Some(&nano), TimeFormat::Rfc3339Nano),
            "2024-01-01T00:20:34.120450001Z"
        );
        assert_eq!(
            format(Some(&nano), TimeFormat::Rfc3339Milli),
            "2024-01-01T00:20:34.12Z"
        );
        assert_eq!(
            format(Some(&ts(1_710_435_181, 0)), TimeFormat::Rfc3339Milli),
            "2024-03-14T16:53:01Z"
        );
        assert_eq!(
            format(
                Some(&ts(1_710_435_181, 240_000_000)),
                TimeFormat::StampMilli
            ),
            "Mar 14 16:53:01.240"
        );
        // Go truncates, it does not round.
        assert_eq!(
            format(
                Some(&ts(1_710_435_181, 999_999_999)),
                TimeFormat::StampMilli
            ),
            "Mar 14 16:53:01.999"
        );
    }

    #[test]
    fn missing_times_are_not_available() {
        assert_eq!(format(None, TimeFormat::Rfc3339), "N/A");
        assert_eq!(format(Some(&ts(i64::MAX, 0)), TimeFormat::Rfc3339), "N/A");
    }

    #[test]
    fn calendar_round_trips() {
        let now = std::time::SystemTime::now();
        // From 0001-01-01 on: earlier days are not valid timestamps.
        for days in (-719_162..800_000).step_by(997) {
            let t = ts(days * 86_400, 0);
            let text = format(Some(&t), TimeFormat::YearMonthDay);
            assert_eq!(since::parse_at(&text, now), Ok(t), "{text}");
        }
        for (month, name) in ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]
            .iter()
            .enumerate()
        {
            // The first of each month of 2024, a leap year.
            let days = [0, 31, 60, 91, 121, 152][month];
            let t = ts(1_704_067_200 + days * 86_400, 0);
            assert!(format(Some(&t), TimeFormat::StampMilli).starts_with(name));
        }
    }
}
