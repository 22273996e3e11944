//! The replayed input cut into chunks of whole lines, for the readers to share: each takes
//! the next chunk (with its place in the file) under a lock. Reading stops at the end of
//! the input or at its first error, as `BufRead::read_line` would stop; a last line
//! without a newline is a line.

use std::io::{self, Read};

/// Bytes read at once; a chunk ends at the last newline within them (a longer line
/// makes a longer chunk).
const CHUNK: usize = 1024 * 1024;

/// The input and what was read past the last whole line.
pub struct Source {
    input: Box<dyn Read + Send>,
    /// Bytes after the last newline of the last chunk.
    carry: Vec<u8>,
    /// Sequence number of the next chunk.
    next: u64,
    done: bool,
}

/// A chunk's bytes: a buffer that keeps its size (zeroed once, where it grows) and how
/// much of it holds the chunk.
#[derive(Default)]
pub struct Bytes {
    buffer: Vec<u8>,
    len: usize,
}

impl Bytes {
    /// The chunk's bytes.
    pub fn get(&self) -> &[u8] {
        self.buffer.get(..self.len).unwrap_or_default()
    }

    fn set(&mut self, bytes: &[u8]) {
        self.len = 0;
        self.extend(bytes);
    }

    fn extend(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.buffer[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Room for `more` bytes after the chunk.
    fn reserve(&mut self, more: usize) {
        if self.buffer.len() < self.len + more {
            self.buffer.resize(self.len + more, 0);
        }
    }

    /// One `read` of up to [`CHUNK`] bytes onto the chunk.
    fn read_from(&mut self, input: &mut dyn Read) -> io::Result<usize> {
        self.reserve(CHUNK);
        let read = input.read(&mut self.buffer[self.len..self.len + CHUNK])?;
        self.len += read;
        Ok(read)
    }
}

/// Whole lines of the input, in order.
pub struct Chunk {
    /// Its place among the chunks, from 0.
    pub seq: u64,
    /// The error that ended the input after these lines, if any.
    pub error: Option<io::Error>,
}

impl Source {
    /// Chunks of `input`.
    pub fn new(input: Box<dyn Read + Send>) -> Self {
        Self {
            input,
            carry: Vec::new(),
            next: 0,
            done: false,
        }
    }

    /// The next chunk, its lines in `lines` (replacing what it held); `None` at the end.
    pub fn next_chunk(&mut self, lines: &mut Bytes) -> Option<Chunk> {
        if self.done {
            return None;
        }
        lines.set(&self.carry);
        self.carry.clear();
        let error = loop {
            match lines.read_from(&mut self.input) {
                Ok(0) => {
                    self.done = true;
                    break None;
                }
                Ok(_) => {
                    if let Some(end) = memchr::memrchr(b'\n', lines.get()) {
                        self.carry.extend_from_slice(&lines.get()[end + 1..]);
                        lines.truncate(end + 1);
                        break None;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // The lines read before the error count; a partial last line does not.
                    self.done = true;
                    let end = memchr::memrchr(b'\n', lines.get()).map_or(0, |end| end + 1);
                    lines.truncate(end);
                    break Some(e);
                }
            }
        };
        if lines.get().is_empty() && error.is_none() {
            return None;
        }
        let seq = self.next;
        self.next += 1;
        Some(Chunk { seq, error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(input: &'static [u8]) -> Vec<(Vec<u8>, bool)> {
        let mut source = Source::new(Box::new(input));
        let mut lines = Bytes::default();
        let mut out = Vec::new();
        while let Some(chunk) = source.next_chunk(&mut lines) {
            out.push((lines.get().to_vec(), chunk.error.is_some()));
        }
        out
    }

    #[test]
    fn whole_lines_and_the_last_one_without_newline() {
        assert_eq!(
            chunks(b"a\nb\nc"),
            [(b"a\nb\n".to_vec(), false), (b"c".to_vec(), false)]
        );
        assert_eq!(chunks(b"a\n"), [(b"a\n".to_vec(), false)]);
        assert!(chunks(b"").is_empty());
    }

    /// A reader that hands out a few bytes at a time, then fails.
    struct Trickle(&'static [u8]);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("disk on fire"));
            }
            let n = self.0.len().min(buf.len()).min(3);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn an_error_ends_the_input_after_the_whole_lines_before_it() {
        let mut source = Source::new(Box::new(Trickle(b"a\nbcdef\npartial")));
        let mut lines = Bytes::default();
        let mut read = Vec::new();
        let error = loop {
            let chunk = source.next_chunk(&mut lines).unwrap();
            read.extend_from_slice(lines.get());
            if let Some(error) = chunk.error {
                break error;
            }
        };
        assert_eq!(read, b"a\nbcdef\n", "the partial line is not a line");
        assert_eq!(error.to_string(), "disk on fire");
        assert!(source.next_chunk(&mut lines).is_none());
    }
}
