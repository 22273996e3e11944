//! `google.protobuf.Timestamp`, with the JSON form Hubble prints.
//!
//! The generated messages use this type instead of `pbjson_types::Timestamp` because the
//! latter prints offsets as `+00:00`, while Go's protojson (what `hubble observe -o jsonpb`
//! prints) always ends in `Z` and uses 0, 3, 6 or 9 fractional digits. Parsing accepts any
//! RFC 3339 offset. The wire encoding is the well-known type's (seconds 1, nanos 2).
//! The calendar maths and the RFC 3339 grammar are `chrono`'s; this file only holds the
//! protojson rules on top (the `Z`, the digit counts, years 1 to 9999).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// Seconds of 0001-01-01T00:00:00Z, the earliest time the JSON form allows.
const MIN_SECONDS: i64 = -62_135_596_800;
/// Seconds of 9999-12-31T23:59:59Z, the latest time the JSON form allows.
const MAX_SECONDS: i64 = 253_402_300_799;
const NANOS_PER_SECOND: i64 = 1_000_000_000;

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

    /// This time as a UTC date and time, for formatting; `None` when it is not
    /// [valid](Self::is_valid).
    pub fn to_datetime(&self) -> Option<DateTime<Utc>> {
        let nanos = u32::try_from(self.nanos).ok()?;
        self.is_valid()
            .then(|| DateTime::from_timestamp(self.seconds, nanos))
            .flatten()
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
    /// RFC 3339 in UTC with a `Z` suffix and 0, 3, 6 or 9 fractional digits (the shortest
    /// that is exact), as protojson prints it; out-of-range values print as their raw
    /// fields.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_datetime() {
            Some(time) => f.write_str(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            None => write!(f, "{}s{}ns", self.seconds, self.nanos),
        }
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || TimestampError::Syntax(text.to_string());
        if !protojson_shape(text) {
            return Err(syntax());
        }
        let parsed = Self::from(DateTime::parse_from_rfc3339(text).map_err(|_| syntax())?);
        // A leap second (`:60`) parses with nanos past a second: not valid here either.
        if parsed.is_valid() {
            Ok(parsed)
        } else {
            Err(syntax())
        }
    }
}

/// What protojson refuses but chrono's RFC 3339 parser takes: a space instead of the `T`,
/// and more than 9 fractional digits.
fn protojson_shape(text: &str) -> bool {
    let bytes = text.as_bytes();
    let fraction = bytes.get(19..).and_then(|rest| rest.strip_prefix(b"."));
    let digits = fraction.map_or(0, |f| f.iter().take_while(|b| b.is_ascii_digit()).count());
    matches!(bytes.get(10), Some(b'T' | b't')) && digits <= 9
}

impl<Tz: TimeZone> From<DateTime<Tz>> for Timestamp {
    fn from(time: DateTime<Tz>) -> Self {
        Self {
            seconds: time.timestamp(),
            // Below 2e9 even for a leap second, so it fits.
            nanos: time.timestamp_subsec_nanos() as i32,
        }
    }
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
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:60Z",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn text_round_trips_over_the_whole_range() {
        const SECONDS_PER_DAY: i64 = 86_400;
        let mut days = MIN_SECONDS / SECONDS_PER_DAY;
        while days <= MAX_SECONDS / SECONDS_PER_DAY {
            let stamp = ts(days * SECONDS_PER_DAY + days.rem_euclid(SECONDS_PER_DAY), 0);
            assert_eq!(stamp.to_string().parse(), Ok(stamp), "{stamp}");
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
