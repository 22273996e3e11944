//! Timestamps as Hubble prints them (`--time-format`), always in UTC like Hubble, and the
//! calendar arithmetic that reading `--since`/`--until` shares.

use observe_proto::Timestamp;
pub use observe_proto::{civil_from_days, days_from_civil};

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

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const SECONDS_PER_DAY: i64 = 86_400;

/// A UTC date and time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    nanos: i32,
    weekday: usize,
}

fn civil(ts: &Timestamp) -> Civil {
    let days = ts.seconds.div_euclid(SECONDS_PER_DAY);
    let secs = ts.seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: secs / 3600,
        minute: secs / 60 % 60,
        second: secs % 60,
        nanos: ts.nanos,
        weekday: days.rem_euclid(7) as usize,
    }
}

/// Formats `ts` (UTC); `N/A` when missing or out of range, as Hubble prints it.
pub fn format(ts: Option<&Timestamp>, format: TimeFormat) -> String {
    let Some(ts) = ts.filter(|t| t.is_valid()) else {
        return "N/A".into();
    };
    let c = civil(ts);
    let date = format!("{:04}-{:02}-{:02}", c.year, c.month, c.day);
    let hms = format!("{:02}:{:02}:{:02}", c.hour, c.minute, c.second);
    match format {
        TimeFormat::StampMilli => format!(
            "{} {:>2} {hms}.{:03}",
            MONTHS[(c.month - 1) as usize],
            c.day,
            c.nanos / 1_000_000
        ),
        TimeFormat::YearMonthDay => date,
        TimeFormat::YearMonthDayHour => format!("{date}T{:02}Z", c.hour),
        TimeFormat::YearMonthDayHourMinute => format!("{date}T{:02}:{:02}Z", c.hour, c.minute),
        TimeFormat::Rfc3339 => format!("{date}T{hms}Z"),
        TimeFormat::Rfc3339Milli => format!("{date}T{hms}{}Z", fraction(c.nanos, 3)),
        TimeFormat::Rfc3339Micro => format!("{date}T{hms}{}Z", fraction(c.nanos, 6)),
        TimeFormat::Rfc3339Nano => format!("{date}T{hms}{}Z", fraction(c.nanos, 9)),
        TimeFormat::Rfc1123Z => format!(
            "{}, {:02} {} {:04} {hms} +0000",
            WEEKDAYS[c.weekday],
            c.day,
            MONTHS[(c.month - 1) as usize],
            c.year
        ),
    }
}

/// Go's `.999…` layouts: up to `digits` digits, trailing zeros dropped, no dot for zero.
fn fraction(nanos: i32, digits: u32) -> String {
    let value = nanos / 10i32.pow(9 - digits);
    let text = format!("{value:0width$}", width = digits as usize);
    let trimmed = text.trim_end_matches('0');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!(".{trimmed}")
    }
}

/// The month number (1-12) of an English abbreviation.
pub fn month_number(name: &str) -> Option<i64> {
    MONTHS.iter().position(|m| *m == name).map(|i| i as i64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn missing_times_are_not_available() {
        assert_eq!(format(None, TimeFormat::Rfc3339), "N/A");
        assert_eq!(format(Some(&ts(i64::MAX, 0)), TimeFormat::Rfc3339), "N/A");
    }

    #[test]
    fn calendar_round_trips() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(month_number("Mar"), Some(3));
        assert_eq!(month_number("mar"), None);
    }
}
