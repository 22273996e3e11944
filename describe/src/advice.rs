//! What a lost-event report means and which `observerd` setting changes it: one text per
//! source, shared by every client that shows losses (`observe flows`, `observe status`,
//! `observe tui`), so the advice always names the agent's real flags (`observerd`'s own
//! tests check that every flag in [`flags`] exists).

use observe_proto::flow::LostEventSource;

/// The longest advice line, so a 120-column dashboard header shows it whole after its prefix.
pub const MAX_WIDTH: usize = 112;

/// `observerd` flags the advice names.
pub mod flags {
    /// Which forwarded packets produce trace events (`off`, `new`, `all`).
    pub const TRACE: &str = "--trace";
    /// Slots of the queue between the ring reader and the decoder.
    pub const EVENT_QUEUE_SIZE: &str = "--event-queue-size";
    /// Capacity of the in-memory flow history.
    pub const MAX_FLOWS: &str = "--max-flows";
    /// The on-disk history beyond the ring.
    pub const HISTORY_DIR: &str = "--history-dir";
}

/// One line of at most [`MAX_WIDTH`] characters: what the loss means and what to change.
pub fn lost_events(source: LostEventSource) -> String {
    use flags::*;
    match source {
        LostEventSource::PerfEventRingBuffer => format!(
            "kernel ring full (observerd read too slowly): set observerd {TRACE} new or off, or give it more CPU"
        ),
        LostEventSource::ObserverEventsQueue => format!(
            "event queue full (decoder behind the reader): raise observerd {EVENT_QUEUE_SIZE} or give it more CPU"
        ),
        LostEventSource::HubbleRingBuffer => format!(
            "reader overtaken, history overwritten first: narrow the filter, raise observerd {MAX_FLOWS} or set {HISTORY_DIR}"
        ),
        LostEventSource::UnknownLostEventSource => {
            "events were lost at an unknown point".to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_names_a_real_setting() {
        assert!(lost_events(LostEventSource::PerfEventRingBuffer).contains(flags::TRACE));
        assert!(
            lost_events(LostEventSource::ObserverEventsQueue).contains(flags::EVENT_QUEUE_SIZE)
        );
        assert!(lost_events(LostEventSource::HubbleRingBuffer).contains(flags::MAX_FLOWS));
    }

    #[test]
    fn every_line_fits_a_dashboard_header() {
        for source in [
            LostEventSource::PerfEventRingBuffer,
            LostEventSource::ObserverEventsQueue,
            LostEventSource::HubbleRingBuffer,
            LostEventSource::UnknownLostEventSource,
        ] {
            let line = lost_events(source);
            assert!(line.chars().count() <= MAX_WIDTH, "{line}");
        }
    }
}
