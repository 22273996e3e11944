//! One chunk's lines as a reader thread leaves them for the printing thread: each line
//! read ([`LineReader`], one per thread, reused for every line), chosen ([`Choice`]) and
//! rendered ([`Renderer`]) into the batch's text. A line that is not UTF-8 ends the
//! chunk, as it ends `BufRead::read_line`.

use std::io;

use anyhow::Error;
use observe_cli::input_line::LineReader;
use observe_proto::observer::get_flows_response::ResponseTypes;

use super::source::{Bytes, Chunk};
use crate::commands::flows::choice::Choice;
use crate::output::flows::{Printed, Renderer};

/// What one line became.
pub enum Line {
    /// A response to print: whether it is a flow, and its output (text in the batch's).
    Chosen {
        flow: bool,
        printed: io::Result<Printed>,
    },
    /// Nothing to print: blank, a skipped event kind, or a flow not chosen.
    Skipped,
    /// Not a line of a known shape.
    Invalid(Error),
}

/// The lines of one chunk, and how the chunk ended.
#[derive(Default)]
pub struct Batch {
    /// The chunk's bytes.
    pub bytes: Bytes,
    /// Its place among the chunks.
    pub seq: u64,
    /// Each line, in order.
    pub lines: Vec<Line>,
    /// The output of the chosen lines.
    pub text: String,
    /// The error that ended the input after these lines (an I/O error, or a line that is
    /// not UTF-8), if any.
    pub error: Option<io::Error>,
}

/// What a reader thread reads with.
pub struct Reading {
    /// The line reader, reused line after line.
    pub lines: LineReader,
    /// The request's bounds, filters and mask.
    pub choice: std::sync::Arc<Choice>,
    /// The output format and its options.
    pub renderer: Renderer,
}

impl Batch {
    /// Reads the lines of `bytes`, just filled for `chunk`.
    pub fn read(&mut self, chunk: Chunk, reading: &mut Reading) {
        self.seq = chunk.seq;
        self.lines.clear();
        self.text.clear();
        self.error = None;
        let bytes = self.bytes.get();
        let mut start = 0;
        while start < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i + 1);
            let Ok(line) = std::str::from_utf8(&bytes[start..end]) else {
                self.error = Some(invalid_utf8());
                return;
            };
            let line = read_line(line, reading, &mut self.text);
            self.lines.push(line);
            start = end;
        }
        self.error = chunk.error;
    }
}

fn read_line(line: &str, reading: &mut Reading, text: &mut String) -> Line {
    let response = match reading.lines.read(line) {
        Ok(Some(response)) => response,
        Ok(None) => return Line::Skipped,
        Err(e) => return Line::Invalid(e),
    };
    let Some(chosen) = reading.choice.choose(response) else {
        return Line::Skipped;
    };
    Line::Chosen {
        flow: matches!(response.response_types, Some(ResponseTypes::Flow(_))),
        printed: reading.renderer.render(&chosen, text),
    }
}

/// What `BufRead::read_line` returns for a line that is not UTF-8.
fn invalid_utf8() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "stream did not contain valid UTF-8",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    #[test]
    fn a_line_that_is_not_utf8_fails_as_read_line_fails() {
        let mut text = String::new();
        let expected = io::BufReader::new(&b"\xff\n"[..])
            .read_line(&mut text)
            .unwrap_err();
        let got = invalid_utf8();
        assert_eq!(
            (got.kind(), got.to_string()),
            (expected.kind(), expected.to_string())
        );
    }
}
