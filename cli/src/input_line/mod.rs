//! One `--input-file` line of `observe flows`: a `GetFlowsResponse` (`observe flows -o
//! jsonpb`, `hubble observe -o jsonpb`), an exporter `ExportEvent` (same shape; agent and
//! debug events are skipped) or a bare `Flow` (`hubble observe -o json` with legacy
//! output). Blank lines are skipped. Reading the file and choosing flows is
//! `commands::flows::replay`'s.
//!
//! Two readers give one answer: `full` is the reference (serde_json, every error with
//! its message); `fast` reads the common lines in place, reusing one response's
//! allocations (`slot`, `messages`, `layer4`), and answers only when it is sure to
//! agree with `full`, which decides every other line. `top_keys` tells which of the
//! keys below an object has at its top level.

mod fast;
mod full;
mod layer4;
mod messages;
mod slot;
mod top_keys;

use anyhow::Result;
use observe_proto::observer::GetFlowsResponse;

pub use full::parse_line_with_serde_json;

/// Keys that make a line a `GetFlowsResponse` (or `ExportEvent`).
const RESPONSE_KEYS: &[&str] = &["flow", "lost_events", "node_status"];
/// `ExportEvent` kinds `observe flows` does not print.
const SKIPPED_KEYS: &[&str] = &["agent_event", "debug_event"];

/// Reads lines one after another into one reused response.
#[derive(Default)]
pub struct LineReader {
    slot: slot::Slot,
}

impl LineReader {
    /// A reader with nothing allocated yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One line as a response, held by the reader until the next line; `None` for blank
    /// lines and skipped event kinds.
    ///
    /// # Errors
    ///
    /// The line is not a JSON object of a known shape (serde_json's message).
    pub fn read(&mut self, line: &str) -> Result<Option<&GetFlowsResponse>> {
        match fast::read(&mut self.slot, line.trim()) {
            fast::Outcome::Response => Ok(Some(&self.slot.response)),
            fast::Outcome::Nothing => Ok(None),
            fast::Outcome::Undecided => match parse_line_with_serde_json(line)? {
                Some(response) => Ok(Some(self.slot.replace(response))),
                None => Ok(None),
            },
        }
    }
}

/// One line as a response; `None` for blank lines and skipped event kinds.
///
/// # Errors
///
/// The line is not a JSON object of a known shape.
pub fn parse_line(line: &str) -> Result<Option<GetFlowsResponse>> {
    Ok(LineReader::new().read(line)?.cloned())
}

#[cfg(test)]
mod tests;
