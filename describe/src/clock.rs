//! The time of day of a flow as the dashboard prints it, `HH:MM:SS.mmm` in UTC: no
//! time-zone database, so the screen is the same on every machine and in every test. (The
//! CLI's `--time-format` formats are its own.)

use observe_proto::Timestamp;

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
    fn clock_times_are_utc_with_milliseconds() {
        let t = Timestamp {
            seconds: 1_764_130_912,
            nanos: 123_456_789,
        };
        assert_eq!(clock(Some(&t)), "04:21:52.123");
        assert_eq!(clock(None), "--:--:--.---");
    }
}
