//! Reading the event ring buffer (`OBS_EVENTS`) synchronously, and decoding its records.
//!
//! The observer's asynchronous reader wraps the [`RingBuf`] in `AsyncFd` itself
//! ([`EventReader::into_inner`] hands it over, and [`decode`] turns records into
//! [`FlowEvent`]s); this synchronous drain serves tests, benchmarks and tools.

use std::mem::size_of;
use std::os::fd::{AsFd, BorrowedFd};

use aya::maps::{MapData, RingBuf};
use probe_common::event::FlowEvent;

/// Decodes one ring-buffer record; `None` if it is not a whole [`FlowEvent`].
pub fn decode(record: &[u8]) -> Option<FlowEvent> {
    if record.len() < size_of::<FlowEvent>() {
        return None;
    }
    // SAFETY: FlowEvent is repr(C) plain data with no invalid bit patterns, the length was
    // checked, and read_unaligned copes with the record's alignment.
    Some(unsafe { record.as_ptr().cast::<FlowEvent>().read_unaligned() })
}

/// A synchronous reader of `OBS_EVENTS`.
pub struct EventReader {
    ring: RingBuf<MapData>,
    malformed: u64,
}

impl EventReader {
    pub(crate) fn new(ring: RingBuf<MapData>) -> Self {
        Self { ring, malformed: 0 }
    }

    /// Every event available now, at most `max`.
    pub fn drain(&mut self, max: usize) -> Vec<FlowEvent> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some(record) = self.ring.next() else {
                break;
            };
            match decode(&record) {
                Some(event) => out.push(event),
                None => self.malformed += 1,
            }
        }
        out
    }

    /// Records that were not a whole event (never expected; counted, not hidden).
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// The ring buffer, for an asynchronous reader (`AsyncFd`).
    pub fn into_inner(self) -> RingBuf<MapData> {
        self.ring
    }
}

impl AsFd for EventReader {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.ring.as_fd()
    }
}

impl std::fmt::Debug for EventReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventReader")
            .field("malformed", &self.malformed)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_decode_whole_events_only() {
        let event = FlowEvent {
            kind: 1,
            subtype: 133,
            sport: 1234,
            dport: 80,
            ..FlowEvent::default()
        };
        // SAFETY: viewing a repr(C) plain-data value as bytes.
        let bytes = unsafe {
            std::slice::from_raw_parts((&raw const event).cast::<u8>(), size_of::<FlowEvent>())
        };
        assert_eq!(decode(bytes), Some(event));
        assert_eq!(decode(&bytes[..79]), None);
    }
}
