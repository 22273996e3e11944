//! Reading the event ring buffer (`OBS_EVENTS`) synchronously, and decoding its records.
//!
//! The observer's asynchronous reader wraps the [`RingBuf`] in `AsyncFd` itself
//! ([`EventReader::into_inner`] hands it over, and [`FlowEvent::from_bytes`] turns records
//! into events, [`ConnectionCounters::from_record`] their counters); this synchronous
//! drain serves tests, benchmarks and tools.

use std::os::fd::{AsFd, BorrowedFd};

use aya::maps::{MapData, RingBuf};
use probe_common::event::{ConnectionCounters, FlowEvent};

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
        self.drain_with(max, |event, _| event)
    }

    /// As [`EventReader::drain`], each event with the connection counters its record
    /// carries (aggregation mode), if any.
    pub fn drain_counted(&mut self, max: usize) -> Vec<(FlowEvent, Option<ConnectionCounters>)> {
        self.drain_with(max, |event, record| {
            (event, ConnectionCounters::from_record(&event, record))
        })
    }

    /// Every record available now, at most `max`, each whole event as `read` makes it;
    /// a record too short for an event is counted ([`EventReader::malformed`]).
    fn drain_with<T>(&mut self, max: usize, read: impl Fn(FlowEvent, &[u8]) -> T) -> Vec<T> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some(record) = self.ring.next() else {
                break;
            };
            match FlowEvent::from_bytes(&record) {
                Some(event) => out.push(read(event, &record)),
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
