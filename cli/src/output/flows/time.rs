//! Timestamps as Hubble prints them (`--time-format`), always in UTC like Hubble: Go's
//! layouts written as chrono formats, plus Go's `.999` fractions, which drop trailing
//! zeros (chrono has no such format).

use std::fmt::Write as _;

use chrono::{Datelike, Timelike};
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
    let mut text = String::new();
    format_into(&mut text, ts, format);
    text
}

/// [`format()`] appended to `out`. The default layout and RFC 3339 are written digit by
/// digit from the date's fields; the others go through chrono's formatter.
pub fn format_into(out: &mut String, ts: Option<&Timestamp>, format: TimeFormat) {
    let Some(time) = ts.and_then(Timestamp::to_datetime) else {
        out.push_str("N/A");
        return;
    };
    let layout = |out: &mut String, layout: &str| {
        let _ = write!(out, "{}", time.format(layout));
    };
    let nanos = time.timestamp_subsec_nanos();
    let rfc3339 = |out: &mut String, digits| {
        push_number(out, time.year().unsigned_abs(), 4, b'0');
        for (separator, value) in [
            ('-', time.month()),
            ('-', time.day()),
            ('T', time.hour()),
            (':', time.minute()),
            (':', time.second()),
        ] {
            out.push(separator);
            push_number(out, value, 2, b'0');
        }
        fraction_into(out, nanos, digits);
        out.push('Z');
    };
    match format {
        // `%b %e %H:%M:%S%.3f`
        TimeFormat::StampMilli => {
            out.push_str(MONTHS.get(time.month0() as usize).copied().unwrap_or("???"));
            out.push(' ');
            push_number(out, time.day(), 2, b' ');
            for (separator, value) in [
                (' ', time.hour()),
                (':', time.minute()),
                (':', time.second()),
            ] {
                out.push(separator);
                push_number(out, value, 2, b'0');
            }
            out.push('.');
            push_number(out, nanos / 1_000_000, 3, b'0');
        }
        TimeFormat::YearMonthDay => layout(out, "%Y-%m-%d"),
        TimeFormat::YearMonthDayHour => layout(out, "%Y-%m-%dT%HZ"),
        TimeFormat::YearMonthDayHourMinute => layout(out, "%Y-%m-%dT%H:%MZ"),
        TimeFormat::Rfc3339 => rfc3339(out, 0),
        TimeFormat::Rfc3339Milli => rfc3339(out, 3),
        TimeFormat::Rfc3339Micro => rfc3339(out, 6),
        TimeFormat::Rfc3339Nano => rfc3339(out, 9),
        TimeFormat::Rfc1123Z => layout(out, "%a, %d %b %Y %H:%M:%S +0000"),
    }
}

/// chrono's `%b`.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Go's `.999…` layouts: up to `digits` digits, trailing zeros dropped, no dot for zero
/// (none at all for 0 digits).
fn fraction_into(out: &mut String, nanos: u32, digits: u32) {
    if digits == 0 {
        return;
    }
    let mut value = nanos / 10u32.pow(9 - digits);
    let mut width = digits;
    while width > 0 && value.is_multiple_of(10) {
        value /= 10;
        width -= 1;
    }
    if width > 0 {
        out.push('.');
        push_number(out, value, width, b'0');
    }
}

/// `value` in decimal, left-padded with `pad` to `width` digits (longer when it needs
/// more), without the formatter's machinery: this runs for every printed flow.
fn push_number(out: &mut String, value: u32, width: u32, pad: u8) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let used = (digits.len() - at) as u32;
    for _ in used..width {
        out.push(char::from(pad));
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
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

    /// The layouts written digit by digit match chrono's formats over every month, days
    /// of one and two digits, years of fewer than four digits and every fraction width.
    #[test]
    fn digit_by_digit_layouts_match_chrono() {
        let chrono = |t: &Timestamp, layout: &str| {
            t.to_datetime()
                .map(|d| d.format(layout).to_string())
                .unwrap_or_default()
        };
        let mut seconds: i64 = -62_135_596_800;
        let mut nanos: i32 = 0;
        while seconds < 253_402_300_799 {
            let t = ts(seconds, nanos);
            assert_eq!(
                format(Some(&t), TimeFormat::StampMilli),
                chrono(&t, "%b %e %H:%M:%S%.3f")
            );
            let rfc = format(Some(&t), TimeFormat::Rfc3339Nano);
            assert!(rfc.starts_with(&chrono(&t, "%Y-%m-%dT%H:%M:%S")), "{rfc}");
            assert_eq!(
                format(Some(&t), TimeFormat::Rfc3339),
                chrono(&t, "%Y-%m-%dT%H:%M:%SZ")
            );
            seconds += 96_083_407;
            nanos = (nanos + 123_456_789) % 1_000_000_000;
        }
    }
}
