//! Segment files: append-only files of records, named after the sequence number of their
//! first record (`00000000000000004096.seg`), and the index entry that describes one
//! (sequence and time range, committed length), so readers skip whole segments by
//! sequence or time without opening them.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use super::record::{self, Header};

/// File name suffix of segments.
pub(crate) const SUFFIX: &str = ".seg";

/// What the index knows about one segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SegmentInfo {
    /// The file.
    pub path: PathBuf,
    /// Sequence number of the first record.
    pub first_seq: u64,
    /// Sequence number of the last committed record.
    pub last_seq: u64,
    /// Earliest and latest event time of the committed records (Unix ns; 0 = unknown).
    pub first_time: i64,
    /// See `first_time`.
    pub last_time: i64,
    /// Committed bytes: readers never read past this, the writer may be ahead.
    pub bytes: u64,
    /// Committed records.
    pub records: u64,
}

impl SegmentInfo {
    /// An empty segment for records starting at `first_seq`, in `dir`.
    pub(crate) fn empty(dir: &Path, first_seq: u64) -> Self {
        Self {
            path: dir.join(format!("{first_seq:020}{SUFFIX}")),
            first_seq,
            last_seq: first_seq,
            first_time: 0,
            last_time: 0,
            bytes: 0,
            records: 0,
        }
    }

    /// Accounts for one more committed record.
    pub(crate) fn add(&mut self, header: &Header) {
        if self.records == 0 {
            self.first_seq = header.seq;
        }
        self.last_seq = header.seq;
        if header.time != 0 {
            if self.first_time == 0 || header.time < self.first_time {
                self.first_time = header.time;
            }
            self.last_time = self.last_time.max(header.time);
        }
        self.bytes += header.record_len();
        self.records += 1;
    }

    /// Whether the segment may hold sequence numbers in `[from, to)`.
    pub(crate) fn overlaps(&self, from: u64, to: u64) -> bool {
        self.records > 0 && self.first_seq < to && self.last_seq >= from
    }
}

/// Rebuilds the index entry of an existing segment by reading its headers, and cuts off
/// a torn or corrupt tail so that appends and reads line up again. `None` for a segment
/// without a single whole record (the caller deletes it).
pub(crate) fn scan(path: &Path) -> io::Result<Option<SegmentInfo>> {
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    let file_len = file.metadata()?.len();
    let mut info = SegmentInfo::empty(path.parent().unwrap_or(Path::new(".")), 0);
    info.path = path.to_path_buf();
    let mut reader = BufReader::new(&file);
    while let Some(header) = record::read_header(&mut reader)? {
        if info.bytes + header.record_len() > file_len {
            break;
        }
        // Skip the payload: only headers are needed for the index.
        reader.seek_relative(i64::from(header.len))?;
        info.add(&header);
    }
    drop(reader);
    if info.bytes < file_len {
        file.set_len(info.bytes)?;
    }
    Ok((info.records > 0).then_some(info))
}

/// A forward reader over the committed records of one segment.
pub(crate) struct SegmentReader {
    reader: BufReader<File>,
    remaining: u64,
}

impl SegmentReader {
    /// Opens `info`'s file; `Ok(None)` if it was deleted in the meantime.
    pub(crate) fn open(info: &SegmentInfo) -> io::Result<Option<Self>> {
        match File::open(&info.path) {
            Ok(file) => Ok(Some(Self {
                reader: BufReader::with_capacity(64 * 1024, file),
                remaining: info.bytes,
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The next header, within the committed bytes.
    pub(crate) fn next_header(&mut self) -> io::Result<Option<Header>> {
        if self.remaining < record::HEADER as u64 {
            return Ok(None);
        }
        let Some(header) = record::read_header(&mut self.reader)? else {
            return Ok(None);
        };
        if header.record_len() > self.remaining {
            return Ok(None);
        }
        self.remaining -= header.record_len();
        Ok(Some(header))
    }

    /// The payload of the record whose header was just read.
    pub(crate) fn payload(&mut self, header: &Header) -> io::Result<Vec<u8>> {
        let mut payload = vec![0; header.len as usize];
        self.reader.read_exact(&mut payload)?;
        Ok(payload)
    }

    /// Skips the payload of the record whose header was just read.
    pub(crate) fn skip(&mut self, header: &Header) -> io::Result<()> {
        self.reader.seek_relative(i64::from(header.len))
    }
}

/// Segment files in `dir`, oldest first (names sort by first sequence number).
pub(crate) fn list(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(SUFFIX)))
        .collect();
    paths.sort();
    Ok(paths)
}
