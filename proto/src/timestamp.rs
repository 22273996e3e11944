//! `google.protobuf.Timestamp`, with the JSON form Hubble prints.
//!
//! The generated messages use this type instead of `pbjson_types::Timestamp` because the
//! latter prints offsets as `+00:00`, while Go's protojson (what `hubble observe -o jsonpb`
//! prints) always ends in `Z` and uses 0, 3, 6 or 9 fractional digits. Parsing accepts any
//! RFC 3339 offset. The wire encoding is the well-known type's (seconds 1, nanos 2).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds of 0001-01-01T00:00:00Z, the earliest time the JSON form allows.
const MIN_SECONDS: i64 = -62_135_596_800;
/// Seconds of 9999-12-31T23:59:59Z, the latest time the JSON form allows.
const MAX_SECONDS: i64 = 253_402_300_799;
const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// A point in time: seconds and nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, PartialEq, Eq, Hash, prost::Message)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second, 0..=999,999,999.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        SystemTime::now().into()
    }

    /// The time `nanos` nanoseconds after the Unix epoch (negative: before it).
    pub fn from_unix_nanos(nanos: i128) -> Self {
        let per_second = i128::from(NANOS_PER_SECOND);
        // Saturate instead of wrapping: i64 seconds cover ±292 billion years.
        let seconds = nanos
            .div_euclid(per_second)
            .clamp(i64::MIN.into(), i64::MAX.into());
        Self {
            seconds: seconds as i64,
            nanos: nanos.rem_euclid(per_second) as i32,
        }
    }

    /// Nanoseconds since the Unix epoch; never overflows.
    pub fn unix_nanos(&self) -> i128 {
        i128::from(self.seconds) * i128::from(NANOS_PER_SECOND) + i128::from(self.nanos)
    }

    /// Whether the JSON form can represent this value (years 1 to 9999, nanos in range).
    pub fn is_valid(&self) -> bool {
        (MIN_SECONDS..=MAX_SECONDS).contains(&self.seconds)
            && (0..NANOS_PER_SECOND).contains(&i64::from(self.nanos))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        let nanos = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_nanos() as i128,
            Err(before) => -(before.duration().as_nanos() as i128),
        };
        Self::from_unix_nanos(nanos)
    }
}

impl From<Timestamp> for SystemTime {
    /// Saturates at the limits of `SystemTime` rather than panicking.
    fn from(ts: Timestamp) -> Self {
        let nanos = ts.unix_nanos();
        let magnitude =
            Duration::from_nanos(u64::try_from(nanos.unsigned_abs()).unwrap_or(u64::MAX));
        let shifted = if nanos >= 0 {
            UNIX_EPOCH.checked_add(magnitude)
        } else {
            UNIX_EPOCH.checked_sub(magnitude)
        };
        shifted.unwrap_or(UNIX_EPOCH)
    }
}

/// Why a JSON timestamp could not be read or written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// The value is outside years 1-9999 or its nanos are out of range.
    #[error("timestamp out of range: {seconds}s {nanos}ns")]
    OutOfRange {
        /// The seconds field.
        seconds: i64,
        /// The nanos field.
        nanos: i32,
    },
    /// The text is not an RFC 3339 date-time.
    #[error("invalid RFC 3339 timestamp {0:?}")]
    Syntax(String),
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with a `Z` suffix, as protojson prints it; out-of-range values
    /// print as their raw fields.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.is_valid() {
            return write!(f, "{}s{}ns", self.seconds, self.nanos);
        }
        let days = self.seconds.div_euclid(SECONDS_PER_DAY);
        let secs_of_day = self.seconds.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            secs_of_day / 3600,
            secs_of_day / 60 % 60,
            secs_of_day % 60
        )?;
        write_fraction(f, self.nanos)?;
        f.write_str("Z")
    }
}

/// Nothing, or 3, 6 or 9 digits: the shortest of those that is exact.
fn write_fraction(f: &mut fmt::Formatter<'_>, nanos: i32) -> fmt::Result {
    if nanos == 0 {
        Ok(())
    } else if nanos % 1_000_000 == 0 {
        write!(f, ".{:03}", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        write!(f, ".{:06}", nanos / 1_000)
    } else {
        write!(f, ".{nanos:09}")
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || TimestampError::Syntax(text.to_string());
        let parsed = parse_rfc3339(text.as_bytes()).ok_or_else(syntax)?;
        if parsed.is_valid() {
            Ok(parsed)
        } else {
            Err(syntax())
        }
    }
}

/// A cursor over ASCII bytes for the RFC 3339 grammar.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl Cursor<'_> {
    /// Exactly `n` decimal digits.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let (head, tail) = self.rest.split_at_checked(n)?;
        let mut value = 0i64;
        for &b in head {
            value = value * 10 + i64::from(digit(b)?);
        }
        self.rest = tail;
        Some(value)
    }

    /// The next byte if it is one of `options`.
    fn one_of(&mut self, options: &[u8]) -> Option<u8> {
        let (&first, tail) = self.rest.split_first()?;
        options.contains(&first).then(|| {
            self.rest = tail;
            first
        })
    }
}

fn digit(b: u8) -> Option<u8> {
    b.is_ascii_digit().then(|| b - b'0')
}

fn parse_rfc3339(text: &[u8]) -> Option<Timestamp> {
    let mut c = Cursor { rest: text };
    let year = c.digits(4)?;
    c.one_of(b"-")?;
    let month = c.digits(2)?;
    c.one_of(b"-")?;
    let day = c.digits(2)?;
    c.one_of(b"Tt")?;
    let hour = c.digits(2)?;
    c.one_of(b":")?;
    let minute = c.digits(2)?;
    c.one_of(b":")?;
    let second = c.digits(2)?;
    let nanos = parse_fraction(&mut c)?;
    let offset = parse_offset(&mut c)?;
    let in_range = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !c.rest.is_empty() || !in_range {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offset;
    Some(Timestamp { seconds, nanos })
}

/// An optional `.` followed by 1 to 9 digits, as nanoseconds.
fn parse_fraction(c: &mut Cursor<'_>) -> Option<i32> {
    if c.one_of(b".").is_none() {
        return Some(0);
    }
    let len = c.rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if !(1..=9).contains(&len) {
        return None;
    }
    let value = c.digits(len)?;
    Some((value * 10i64.pow(9 - len as u32)) as i32)
}

/// `Z` or `±HH:MM`, as seconds east of UTC.
fn parse_offset(c: &mut Cursor<'_>) -> Option<i64> {
    match c.one_of(b"Zz+-")? {
        b'Z' | b'z' => Some(0),
        sign => {
            let hours = c.digits(2)?;
            c.one_of(b":")?;
            let minutes = c.digits(2)?;
            let offset = hours * 3600 + minutes * 60;
            (hours < 24 && minutes < 60).then_some(if sign == b'-' { -offset } else { offset })
        }
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date. Counts in 400-year eras starting
/// in March, so the leap day is the last day of its year and needs no special case.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !self.is_valid() {
            return Err(serde::ser::Error::custom(TimestampError::OutOfRange {
                seconds: self.seconds,
                nanos: self.nanos,
            }));
        }
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(seconds: i64, nanos: i32) -> Timestamp {
        Timestamp { seconds, nanos }
    }

    #[test]
    fn prints_utc_with_z_and_the_shortest_exact_fraction() {
        assert_eq!(ts(0, 0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            ts(1_704_068_434, 567_000_000).to_string(),
            "2024-01-01T00:20:34.567Z"
        );
        assert_eq!(
            ts(1_704_068_434, 567_800_000).to_string(),
            "2024-01-01T00:20:34.567800Z"
        );
        assert_eq!(
            ts(1_704_068_434, 1).to_string(),
            "2024-01-01T00:20:34.000000001Z"
        );
        assert_eq!(ts(951_782_400, 0).to_string(), "2000-02-29T00:00:00Z");
        assert_eq!(ts(MIN_SECONDS, 0).to_string(), "0001-01-01T00:00:00Z");
        assert_eq!(ts(MAX_SECONDS, 0).to_string(), "9999-12-31T23:59:59Z");
        assert_eq!(ts(-1, 0).to_string(), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let parse = |s: &str| s.parse::<Timestamp>();
        assert_eq!(
            parse("2024-01-01T00:20:34.567Z"),
            Ok(ts(1_704_068_434, 567_000_000))
        );
        assert_eq!(
            parse("2024-01-01T01:20:34.5+01:00"),
            Ok(ts(1_704_068_434, 500_000_000))
        );
        assert_eq!(parse("2023-12-31T23:20:34-01:00"), Ok(ts(1_704_068_434, 0)));
        assert_eq!(parse("2000-02-29t00:00:00z"), Ok(ts(951_782_400, 0)));
        for bad in [
            "",
            "2024-01-01",
            "2024-01-01T00:00:00",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00.1234567890Z",
            "2024-01-01T00:00:00Zjunk",
            "2024-01-01T00:00:00+1:00",
            "２024-01-01T00:00:00Z",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn civil_conversion_round_trips_over_the_whole_range() {
        let mut days = MIN_SECONDS / SECONDS_PER_DAY;
        while days <= MAX_SECONDS / SECONDS_PER_DAY {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            days += 997;
        }
    }

    #[test]
    fn converts_to_and_from_system_time() {
        let time = UNIX_EPOCH + Duration::new(1_704_068_434, 567);
        let stamp = Timestamp::from(time);
        assert_eq!(stamp, ts(1_704_068_434, 567));
        assert_eq!(SystemTime::from(stamp), time);
        assert_eq!(Timestamp::from_unix_nanos(-1), ts(-1, 999_999_999));
        assert_eq!(ts(-1, 999_999_999).unix_nanos(), -1);
    }

    #[test]
    fn json_refuses_out_of_range_values() {
        assert!(serde_json::to_string(&ts(MAX_SECONDS + 1, 0)).is_err());
        assert!(serde_json::to_string(&ts(0, -1)).is_err());
        assert_eq!(
            serde_json::to_string(&ts(0, 0)).unwrap(),
            "\"1970-01-01T00:00:00Z\""
        );
    }
}
