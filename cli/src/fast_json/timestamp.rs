//! `google.protobuf.Timestamp` texts in the one shape agents print,
//! `YYYY-MM-DDTHH:MM:SS[.f…]Z` (1 to 9 fractional digits, upper-case `T` and `Z`), read
//! digit by digit. Any other text, or a date that does not exist, is left to
//! `Timestamp::from_str` (chrono's RFC 3339 parser with protojson's rules), whose answer
//! this one equals wherever it gives one.

use observe_proto::Timestamp;

/// The time `text` names, or `None`: not this shape (ask `Timestamp::from_str`).
pub fn parse(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    let (date, rest) = b.split_at_checked(10)?;
    let (time, rest) = rest.split_at_checked(9)?;
    if date[4] != b'-' || date[7] != b'-' || time[0] != b'T' || time[3] != b':' || time[6] != b':' {
        return None;
    }
    let year = digits(&date[0..4])?;
    let month = digits(&date[5..7])?;
    let day = digits(&date[8..10])?;
    let hour = digits(&time[1..3])?;
    let minute = digits(&time[4..6])?;
    let second = digits(&time[7..9])?;
    let valid_date = (1..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day);
    if !valid_date || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let nanos = fraction(rest)?;
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    Some(Timestamp {
        seconds,
        nanos: i32::try_from(nanos).ok()?,
    })
}

/// `Z`, or `.` and 1 to 9 digits then `Z`: the nanoseconds.
fn fraction(rest: &[u8]) -> Option<i64> {
    match rest {
        [b'Z'] => Some(0),
        [b'.', fraction @ .., b'Z'] if (1..=9).contains(&fraction.len()) => {
            let value = digits(fraction)?;
            Some(value * 10i64.pow(9 - fraction.len() as u32))
        }
        _ => None,
    }
}

/// ASCII digits as a number.
fn digits(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0i64, |value, &b| {
        b.is_ascii_digit().then(|| value * 10 + i64::from(b - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wherever this reader answers, `Timestamp::from_str` gives the same time; and it
    /// answers for every instant printed in the agent's shape.
    #[test]
    fn agrees_with_from_str() {
        let mut seconds: i64 = -62_135_596_800;
        let mut nanos: i32 = 0;
        while seconds <= 253_402_300_799 {
            let t = Timestamp { seconds, nanos };
            let text = t.to_string();
            assert_eq!(parse(&text), Some(t), "{text}");
            seconds += 86_413 * 97;
            nanos = (nanos + 987_654_321) % 1_000_000_000;
        }
        for text in [
            "2024-02-29T23:59:59.999999999Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2024-01-00T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.9Z",
            "2024-03-14T24:00:00Z",
            "2024-03-14T16:60:00Z",
            "2024-03-14T16:53:60Z",
            "2024-03-14T16:53:01.Z",
            "2024-03-14T16:53:01.1234567890Z",
            "2024-03-14T16:53:01.12a Z",
            "2024-03-14t16:53:01Z",
            "2024-03-14T16:53:01z",
            "2024-03-14 16:53:01Z",
            "2024-03-14T16:53:01+00:00",
            "2024-03-14T16:53:01",
            "+024-03-14T16:53:01Z",
            "2024-3-14T16:53:01Z",
            "",
            "2024-03-14T16:53:01.05Z",
        ] {
            if let Some(fast) = parse(text) {
                assert_eq!(text.parse::<Timestamp>().ok(), Some(fast), "{text}");
            }
        }
        assert_eq!(parse("2023-02-29T00:00:00Z"), None);
    }
}
