//! History beyond the ring: an optional on-disk store of recent events with a size cap,
//! so `GetFlows` can reach further back than the flow ring holds.
//!
//! ```text
//! Pipeline ── on_stored(position, view) ──▶ HistoryWriter ── append ──▶ active segment
//!                                               │ batch end: flush, commit to the index,
//!                                               │ rotate at segment size, delete the
//!                                               ▼ oldest segments over the cap
//! GetFlows ── History::read(from, to) ◀── Index (segments: sequence and time ranges)
//! ```
//!
//! Every event the pipeline writes to the ring (flows and loss reports) is also appended
//! here with the sequence number `base + ring position`, where `base` continues after the
//! last record found on disk at startup. So a sequence number says exactly where an event
//! sits relative to the ring: `GetFlows` reads the events before the ring's oldest
//! position from disk, then the ring, with no overlap and no gap; and a reader lapped by
//! the ring writer refills the gap from disk. Events from before a restart keep their
//! (lower) sequence numbers and stay readable.
//!
//! - `record`: the record format;
//! - `segment`: segment files and their index entries;
//! - [`writer`]: the pipeline hook that appends, rotates and enforces the cap;
//! - `reader`: reads by sequence range, by time, and backwards by count.
//!
//! Writes are buffered and committed once per pipeline batch; readers only read committed
//! bytes. Nothing is fsynced: history is a convenience, and the cap bounds what a crash
//! can lose to the last batch.

pub(crate) mod reader;
pub(crate) mod record;
pub(crate) mod segment;
pub mod writer;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use observe_proto::Timestamp;

use segment::SegmentInfo;
pub use writer::HistoryWriter;

/// Settings of the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Directory of the segment files (created if missing).
    pub dir: PathBuf,
    /// Most bytes all segments may take together.
    pub max_bytes: u64,
    /// Size at which the active segment is closed and a new one started.
    pub segment_bytes: u64,
}

impl HistoryConfig {
    /// A store in `dir` of at most `max_bytes`, in segments of an eighth of that (at least
    /// 64 KiB, at most 64 MiB), so the cap is held within one segment's granularity.
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> Self {
        Self {
            dir: dir.into(),
            max_bytes,
            segment_bytes: (max_bytes / 8).clamp(64 << 10, 64 << 20),
        }
    }
}

/// Why the store cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The directory or a segment cannot be read or written.
    #[error("history store {path}: {source}", path = path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The size settings cannot work.
    #[error(
        "history store: the size cap ({max_bytes} bytes) is smaller than one segment ({segment_bytes} bytes)"
    )]
    Cap {
        /// The cap.
        max_bytes: u64,
        /// The segment size.
        segment_bytes: u64,
    },
}

/// Events deleted to hold the cap, and their time range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Discarded {
    /// How many events.
    pub events: u64,
    /// Time of the oldest one deleted (Unix ns, 0 unknown).
    pub first_time: i64,
    /// Time of the newest one deleted.
    pub last_time: i64,
}

/// The segment list, shared by the writer and the readers.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Oldest first; the last one is the active segment.
    pub segments: VecDeque<SegmentInfo>,
    pub discarded: Discarded,
}

impl Index {
    fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }
}

/// The readable side of the store.
#[derive(Debug)]
pub struct History {
    dir: PathBuf,
    base: u64,
    index: Mutex<Index>,
}

impl History {
    /// Opens (or creates) the store: rebuilds the index from the segments found, cuts off
    /// torn tails, deletes what exceeds the cap, and returns the readers' handle and the
    /// pipeline hook that appends.
    ///
    /// # Errors
    ///
    /// [`HistoryError`] when the directory or a segment cannot be used, or the cap is
    /// smaller than a segment.
    pub fn open(config: HistoryConfig) -> Result<(Arc<Self>, HistoryWriter), HistoryError> {
        if config.max_bytes < config.segment_bytes {
            return Err(HistoryError::Cap {
                max_bytes: config.max_bytes,
                segment_bytes: config.segment_bytes,
            });
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| HistoryError::Io { path, source }
        };
        std::fs::create_dir_all(&config.dir).map_err(io(&config.dir))?;
        let mut index = Index::default();
        for path in segment::list(&config.dir).map_err(io(&config.dir))? {
            match segment::scan(&path).map_err(io(&path))? {
                Some(info) => index.segments.push_back(info),
                None => std::fs::remove_file(&path).map_err(io(&path))?,
            }
        }
        let base = index.segments.back().map_or(0, |s| s.last_seq + 1);
        let history = Arc::new(Self {
            dir: config.dir.clone(),
            base,
            index: Mutex::new(index),
        });
        history.enforce_cap(config.max_bytes);
        let writer = HistoryWriter::new(Arc::clone(&history), config);
        Ok((history, writer))
    }

    /// The sequence number of ring position 0 in this run.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// The directory of the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes on disk (committed).
    pub fn bytes(&self) -> u64 {
        self.lock().bytes()
    }

    /// Events on disk (committed).
    pub fn events(&self) -> u64 {
        self.lock().segments.iter().map(|s| s.records).sum()
    }

    /// Events deleted so far to hold the cap.
    pub fn discarded(&self) -> Discarded {
        self.lock().discarded
    }

    /// The oldest stored event's sequence number and time, if any.
    pub fn oldest(&self) -> Option<(u64, Option<Timestamp>)> {
        let index = self.lock();
        let first = index.segments.iter().find(|s| s.records > 0)?;
        let time =
            (first.first_time != 0).then(|| Timestamp::from_unix_nanos(first.first_time.into()));
        Some((first.first_seq, time))
    }

    /// A copy of the segment list, for a reader to walk without holding the lock.
    pub(crate) fn segments(&self) -> Vec<SegmentInfo> {
        self.lock().segments.iter().cloned().collect()
    }

    /// Deletes the oldest segments (never the active one) while the store is over
    /// `max_bytes`.
    pub(crate) fn enforce_cap(&self, max_bytes: u64) {
        let mut index = self.lock();
        while index.bytes() > max_bytes && index.segments.len() > 1 {
            let Some(oldest) = index.segments.pop_front() else {
                break;
            };
            // Deleting an open file is fine on Linux: a reader keeps its descriptor.
            if let Err(e) = std::fs::remove_file(&oldest.path) {
                tracing::warn!(path = %oldest.path.display(), error = %e, "cannot delete a history segment");
            }
            let d = &mut index.discarded;
            if d.events == 0 {
                d.first_time = oldest.first_time;
            }
            d.events += oldest.records;
            d.last_time = d.last_time.max(oldest.last_time);
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests;
