//! Lost events: Hubble's `EVENTS LOST: <SOURCE> CPU(<n>) <count>` plus what the loss
//! means and which setting to change, so a gap in the output is never silent or cryptic.
//!
//! ```text
//! Mar 14 16:53:02.000: EVENTS LOST: OBSERVER_EVENTS_QUEUE CPU(0) 17 (first: Mar 14 16:53:01.500, last: Mar 14 16:53:01.900) hint: ...
//! ```
//!
//! `CPU(0)` is printed when the source does not know the CPU, as Hubble does.

use observe_proto::flow::{LostEvent, LostEventSource};

use super::time::{TimeFormat, format};

/// `EVENTS LOST: SOURCE CPU(n) count` without time, range or hint.
pub fn headline(lost: &LostEvent) -> String {
    format!(
        "EVENTS LOST: {} CPU({}) {}",
        lost.source().as_str_name(),
        lost.cpu.map_or(0, |c| c.value),
        lost.num_events_lost
    )
}

/// ` (first: T, last: T)` when the report carries its time range, else empty.
pub fn range(lost: &LostEvent, time_format: TimeFormat) -> String {
    match (lost.first.as_ref(), lost.last.as_ref()) {
        (Some(first), Some(last)) => format!(
            " (first: {}, last: {})",
            format(Some(first), time_format),
            format(Some(last), time_format)
        ),
        _ => String::new(),
    }
}

/// What a loss from `source` means and what to change.
pub fn hint(source: LostEventSource) -> String {
    observe_describe::advice::lost_events(source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use observe_proto::Timestamp;
    use observe_proto::pbjson_types::Int32Value;

    #[test]
    fn headline_range_and_hint() {
        let lost = LostEvent {
            source: LostEventSource::PerfEventRingBuffer.into(),
            num_events_lost: 12,
            cpu: Some(Int32Value { value: 3 }),
            first: Some(Timestamp {
                seconds: 1_710_435_181,
                nanos: 0,
            }),
            last: Some(Timestamp {
                seconds: 1_710_435_182,
                nanos: 0,
            }),
        };
        assert_eq!(
            headline(&lost),
            "EVENTS LOST: PERF_EVENT_RING_BUFFER CPU(3) 12"
        );
        assert_eq!(
            range(&lost, TimeFormat::Rfc3339),
            " (first: 2024-03-14T16:53:01Z, last: 2024-03-14T16:53:02Z)"
        );
        let unknown_cpu = LostEvent {
            cpu: None,
            first: None,
            ..lost
        };
        assert_eq!(
            headline(&unknown_cpu),
            "EVENTS LOST: PERF_EVENT_RING_BUFFER CPU(0) 12"
        );
        assert_eq!(range(&unknown_cpu, TimeFormat::Rfc3339), "");
        assert!(hint(LostEventSource::HubbleRingBuffer).contains("--max-flows"));
    }
}
