//! Reading history back: forward over a sequence range, the start of a time window, and
//! backwards by a count of matching events. Readers work on a snapshot of the segment
//! list and only read committed bytes, so they never block the writer.
//!
//! Reads are blocking file I/O; async callers run them on the blocking pool. I/O errors
//! and segments deleted under a reader are not failures: the events they held come back
//! as a [`Item::Gap`], which the server reports as lost, so a stream never silently
//! skips events.

use std::ops::ControlFlow;
use std::sync::Arc;

use super::History;
use super::record;
use super::segment::{SegmentInfo, SegmentReader};
use crate::event::DecodedEvent;

/// What a forward read yields.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Item {
    /// The event with sequence number `seq`.
    Event(u64, Arc<DecodedEvent>),
    /// `count` sequence numbers in the range that are not (or no longer) on disk.
    Gap(u64),
}

impl History {
    /// Visits the events with sequence numbers in `[from, to)`, in order, until `visit`
    /// breaks; missing ones are reported as gaps (also at the end of the range).
    pub(crate) fn read(&self, from: u64, to: u64, mut visit: impl FnMut(Item) -> ControlFlow<()>) {
        let mut expected = from;
        for segment in self.segments().iter().filter(|s| s.overlaps(from, to)) {
            if read_segment(segment, to, &mut expected, &mut visit).is_break() {
                return;
            }
        }
        if expected < to {
            let _ = visit(Item::Gap(to - expected));
        }
    }

    /// The first sequence number below `to` whose event is at or after `since` (Unix ns),
    /// found from the time index and headers, without decoding; `None` if every stored
    /// event before `to` is older.
    pub(crate) fn seq_at_time(&self, since: i128, to: u64) -> Option<u64> {
        let segments = self.segments();
        let candidates = segments
            .iter()
            .filter(|s| s.overlaps(0, to) && i128::from(s.last_time) >= since);
        for segment in candidates {
            if let Some(seq) = first_at_or_after(segment, since, to) {
                return Some(seq);
            }
        }
        None
    }

    /// Where the last `n` events before `to` that satisfy `matches` start: the sequence
    /// number to read forward from, and how many such events were found (fewer than `n`
    /// when history runs out; the start is then the oldest stored event).
    pub(crate) fn scan_back(
        &self,
        to: u64,
        n: u64,
        mut matches: impl FnMut(&DecodedEvent) -> bool,
    ) -> (u64, u64) {
        if n == 0 {
            return (to, 0);
        }
        let segments = self.segments();
        let mut found = 0u64;
        let mut start = to;
        for segment in segments.iter().rev().filter(|s| s.overlaps(0, to)) {
            let seqs = matching_seqs(segment, to, &mut matches);
            let wanted = n - found;
            if let Some(at) = (seqs.len() as u64)
                .checked_sub(wanted)
                .and_then(|at| seqs.get(at as usize))
            {
                return (*at, n);
            }
            found += seqs.len() as u64;
            start = segment.first_seq;
        }
        (start, found)
    }
}

/// Reads the records of one segment with sequence numbers in `[*expected, to)`.
fn read_segment(
    segment: &SegmentInfo,
    to: u64,
    expected: &mut u64,
    visit: &mut impl FnMut(Item) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Ok(Some(mut reader)) = SegmentReader::open(segment) else {
        return ControlFlow::Continue(());
    };
    while let Ok(Some(header)) = reader.next_header() {
        if header.seq < *expected {
            if reader.skip(&header).is_err() {
                break;
            }
            continue;
        }
        if header.seq >= to {
            break;
        }
        let Ok(payload) = reader.payload(&header) else {
            break;
        };
        if header.seq > *expected {
            visit(Item::Gap(header.seq - *expected))?;
        }
        *expected = header.seq + 1;
        match record::decode(&payload) {
            Some(event) => visit(Item::Event(header.seq, event))?,
            None => visit(Item::Gap(1))?,
        }
    }
    ControlFlow::Continue(())
}

fn first_at_or_after(segment: &SegmentInfo, since: i128, to: u64) -> Option<u64> {
    let mut reader = SegmentReader::open(segment).ok()??;
    while let Ok(Some(header)) = reader.next_header() {
        if header.seq >= to {
            return None;
        }
        if i128::from(header.time) >= since {
            return Some(header.seq);
        }
        reader.skip(&header).ok()?;
    }
    None
}

/// Sequence numbers below `to` of the segment's events that satisfy `matches`, in order.
fn matching_seqs(
    segment: &SegmentInfo,
    to: u64,
    matches: &mut impl FnMut(&DecodedEvent) -> bool,
) -> Vec<u64> {
    let mut seqs = Vec::new();
    let Ok(Some(mut reader)) = SegmentReader::open(segment) else {
        return seqs;
    };
    while let Ok(Some(header)) = reader.next_header() {
        if header.seq >= to {
            break;
        }
        let Ok(payload) = reader.payload(&header) else {
            break;
        };
        if record::decode(&payload).is_some_and(|e| matches(&e)) {
            seqs.push(header.seq);
        }
    }
    seqs
}
