//! The pipeline hook that appends every stored event to the active segment: encoded
//! into a buffer as the ring is written, written and committed once per batch (one
//! `write` per batch, not per event), then rotated by size and trimmed to the cap.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::record::{self, Header};
use super::segment::SegmentInfo;
use super::{History, HistoryConfig};
use crate::event::EventView;
use crate::pipeline::OnDecodedFlow;

/// Pending bytes that force a commit before the batch ends, bounding the buffer.
const FLUSH_BYTES: usize = 1 << 20;
/// Least time between two log lines about failing writes.
const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Appends to the store; add it to the pipeline with `Pipeline::add_hook`.
pub struct HistoryWriter {
    history: Arc<History>,
    config: HistoryConfig,
    node_name: Arc<str>,
    active: Option<File>,
    buf: Vec<u8>,
    pending: Vec<Header>,
    last_error_log: Option<Instant>,
}

impl HistoryWriter {
    pub(super) fn new(history: Arc<History>, config: HistoryConfig) -> Self {
        Self {
            history,
            config,
            node_name: Arc::from(""),
            active: None,
            buf: Vec::with_capacity(64 * 1024),
            pending: Vec::new(),
            last_error_log: None,
        }
    }

    /// Stamps loss reports with `node_name` (flows carry their own).
    pub fn with_node_name(mut self, node_name: impl Into<Arc<str>>) -> Self {
        self.node_name = node_name.into();
        self
    }

    /// Encodes `event`, stored at ring position `position`, for the next commit.
    pub fn append(&mut self, position: u64, event: &EventView<'_>) {
        let seq = self.history.base() + position;
        let header = record::encode(seq, event, &self.node_name, &mut self.buf);
        self.pending.push(header);
        if self.buf.len() >= FLUSH_BYTES {
            self.commit();
        }
    }

    /// Writes what is pending, makes it visible to readers, rotates and trims.
    pub fn commit(&mut self) {
        let Some(first) = self.pending.first() else {
            return;
        };
        let first_seq = first.seq;
        if let Err(e) = self.write_pending(first_seq) {
            self.on_write_error(&e);
        }
        self.buf.clear();
        self.pending.clear();
        self.history.enforce_cap(self.config.max_bytes);
    }

    fn write_pending(&mut self, first_seq: u64) -> std::io::Result<()> {
        let file = match &mut self.active {
            Some(file) => file,
            None => self.active.insert(self.start_segment(first_seq)?),
        };
        if let Err(e) = file.write_all(&self.buf) {
            // A partial write would misalign every later record: cut the file back to
            // what was committed and start a fresh segment next time.
            let committed = self.history.lock().segments.back().map_or(0, |s| s.bytes);
            let _ = file.set_len(committed);
            self.active = None;
            return Err(e);
        }
        let mut index = self.history.lock();
        if let Some(active) = index.segments.back_mut() {
            for header in &self.pending {
                active.add(header);
            }
            if active.bytes >= self.config.segment_bytes {
                self.active = None;
            }
        }
        Ok(())
    }

    /// Creates the next segment file and registers it (empty) in the index.
    fn start_segment(&self, first_seq: u64) -> std::io::Result<File> {
        let info = SegmentInfo::empty(self.history.dir(), first_seq);
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&info.path)?;
        self.history.lock().segments.push_back(info);
        Ok(file)
    }

    /// Logs a write failure at most once a minute: a full disk must not flood the log.
    /// The events of the failed batch are not in history; readers see the gap as a loss.
    fn on_write_error(&mut self, e: &std::io::Error) {
        let now = Instant::now();
        if self
            .last_error_log
            .is_none_or(|t| now.duration_since(t) >= LOG_INTERVAL)
        {
            self.last_error_log = Some(now);
            tracing::warn!(dir = %self.history.dir().display(), error = %e, "cannot write flow history");
        }
    }
}

impl OnDecodedFlow for HistoryWriter {
    fn sees_flows(&self) -> bool {
        false
    }

    fn on_stored(&mut self, position: u64, event: &EventView<'_>) {
        self.append(position, event);
    }

    fn on_batch_end(&mut self) {
        self.commit();
    }
}

impl std::fmt::Debug for HistoryWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryWriter")
            .field("dir", &self.history.dir())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Drop for HistoryWriter {
    fn drop(&mut self) {
        self.commit();
    }
}
