//! `--since` / `--until` values, as Hubble reads them: a Go duration before now (`3s`,
//! `4m`, `1h43m`, `1.5h`, `250ms`) or an absolute time in one of the layouts Hubble
//! accepts: `2006-01-02` (YearMonthDay, UTC), `2006-01-02T15Z07:00`,
//! `2006-01-02T15:04Z07:00`, RFC 3339 with or without fraction, and RFC 1123 with a
//! numeric zone (`Mon, 02 Jan 2006 15:04:05 -0700`).

use std::time::SystemTime;

use chrono::format::{Parsed, StrftimeItems};
use observe_proto::Timestamp;

use observe_flags::duration;

/// Hubble's absolute layouts but RFC 1123, as chrono layouts (Go's layouts in the
/// module doc). `%#z` takes `Z`, `±HH:MM` and `±HHMM`.
const LAYOUTS: &[&str] = &[
    "%Y-%m-%d",
    "%Y-%m-%dT%H%#z",
    "%Y-%m-%dT%H:%M%#z",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
];

/// RFC 1123 with a numeric zone, after the weekday (which Go checks only for being a word).
const RFC1123Z: &str = "%d %b %Y %H:%M:%S %z";

/// Parses a `--since`/`--until` value relative to the current time.
pub fn parse(text: &str) -> Result<Timestamp, String> {
    parse_at(text, SystemTime::now())
}

/// Parses a `--since`/`--until` value relative to `now`.
pub fn parse_at(text: &str, now: SystemTime) -> Result<Timestamp, String> {
    if let Ok(ago) = duration::parse_nanos(text) {
        return Ok(Timestamp::from_unix_nanos(
            Timestamp::from(now).unix_nanos() - i128::from(ago),
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

fn absolute(text: &str) -> Option<Timestamp> {
    if let Ok(stamp) = text.parse::<Timestamp>() {
        return Some(stamp);
    }
    if let Some((_weekday, rest)) = text.split_once(',') {
        return layout(rest.trim_start(), RFC1123Z);
    }
    LAYOUTS.iter().find_map(|format| layout(text, format))
}

/// `text` in one chrono layout; what the layout leaves out is zero, as in Go (the
/// minutes of `2006-01-02T15Z07:00`, all of the clock and the zone of `2006-01-02`).
fn layout(text: &str, layout: &str) -> Option<Timestamp> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, StrftimeItems::new(layout)).ok()?;
    if parsed.hour_div_12().is_none() {
        parsed.set_hour(0).ok()?;
    }
    if parsed.minute().is_none() {
        parsed.set_minute(0).ok()?;
    }
    if parsed.offset().is_none() {
        parsed.set_offset(0).ok()?;
    }
    parsed.to_datetime().ok().map(Timestamp::from)
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
        assert_eq!(at("2024-03-14T18:53:01+0200"), Ok(t));
        assert_eq!(at("2024-03-14t16:53:01z"), Ok(t));
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
