//! Flow printers: `GetFlowsResponse`s to text in the formats of `hubble observe`
//! (compact, dict, jsonpb, table). Each format is a file of pure functions from a
//! response to a line, block or row; [`render`] routes a response to them and
//! [`FlowPrinter`] writes the results, propagating every I/O error (a closed pipe ends
//! `observe flows`).
//!
//! - [`fields`]: columns shared by the human formats; [`lost`]: loss reports.
//! - [`styled`]: colors, with every span sanitized; [`time`]: `--time-format`.
//!
//! The words themselves (drop-reason texts, the policy attribution of drops and policy
//! verdicts, loss advice, the sanitizer) come from `observe-describe`, shared with the TUI.

pub mod aggregate;
pub mod compact;
pub mod dict;
pub mod fields;
pub mod jsonpb;
pub mod lost;
pub mod node_status;
pub mod raw_filters;
pub mod render;
pub mod styled;
pub mod table;
pub mod time;

use std::io::{self, Write};

use observe_proto::observer::GetFlowsResponse;

pub use render::{Printed, Renderer};
use time::TimeFormat;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One line per event.
    Compact,
    /// `KEY: value` blocks.
    Dict,
    /// One JSON `GetFlowsResponse` per line.
    Json,
    /// Aligned columns, printed at the end.
    Table,
}

/// How to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The format.
    pub format: Format,
    /// How timestamps look.
    pub time_format: TimeFormat,
    /// Whether to add ANSI colors (compact and dict only).
    pub color: bool,
    /// Addresses instead of pod, service and DNS names.
    pub numeric: bool,
    /// Whether to print the node name.
    pub node_name: bool,
    /// Whether policy-verdict lines name the allowing policies (`BY name (Kind)`).
    pub policy_names: bool,
    /// Count flows per group instead of printing them (`--aggregate-by`).
    pub aggregate: Option<aggregate::GroupBy>,
}

/// Writes responses to `out` (and node status messages to `err`).
pub struct FlowPrinter<W: Write, E: Write> {
    out: W,
    err: E,
    renderer: Renderer,
    /// Dict blocks written so far (for separators).
    blocks: usize,
    /// Table rows, printed by [`FlowPrinter::finish`].
    rows: Vec<Vec<String>>,
    /// Flow counts per group (`--aggregate-by`), printed by [`FlowPrinter::finish`].
    groups: aggregate::Groups,
    /// The text of the response being printed, reused for every response.
    text: String,
}

impl<W: Write, E: Write> FlowPrinter<W, E> {
    /// A printer writing to `out` and `err`.
    pub fn new(out: W, err: E, options: Options) -> Self {
        Self {
            out,
            err,
            renderer: Renderer::new(options),
            blocks: 0,
            rows: Vec::new(),
            groups: aggregate::Groups::default(),
            text: String::new(),
        }
    }

    /// Prints one response.
    ///
    /// # Errors
    ///
    /// Any write error (a closed pipe included), or JSON output of a time out of range.
    pub fn write(&mut self, response: &GetFlowsResponse) -> io::Result<()> {
        let mut text = std::mem::take(&mut self.text);
        text.clear();
        let printed = self.renderer.render(response, &mut text);
        let written = printed.and_then(|printed| self.emit(printed, &text));
        self.text = text;
        written
    }

    /// Writes what a [`Renderer`] with the same options made of a response, its text in
    /// `text`.
    ///
    /// # Errors
    ///
    /// Any write error (a closed pipe included).
    pub fn emit(&mut self, printed: Printed, text: &str) -> io::Result<()> {
        let part = |range: std::ops::Range<usize>| text.get(range).unwrap_or_default().as_bytes();
        match printed {
            Printed::Out(range) => self.out.write_all(part(range)),
            Printed::Block(range) => {
                if self.blocks > 0 {
                    writeln!(self.out, "{}", dict::SEPARATOR)?;
                }
                self.blocks += 1;
                self.out.write_all(part(range))
            }
            Printed::Err(range) => self.err.write_all(part(range)),
            Printed::Row(row) => {
                self.rows.push(row);
                Ok(())
            }
            Printed::Group(key, time) => {
                self.groups.add(key, time);
                Ok(())
            }
            Printed::Nothing => Ok(()),
        }
    }

    /// Flushes what was written (follow mode flushes after every response).
    ///
    /// # Errors
    ///
    /// Any write error.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Prints the table, if any, and flushes.
    ///
    /// # Errors
    ///
    /// Any write error.
    pub fn finish(mut self) -> io::Result<()> {
        let options = *self.renderer.options();
        if let Some(by) = options.aggregate {
            let text = match options.format {
                Format::Json => self.groups.json_lines(&by),
                _ => self.groups.table(&by, options.time_format),
            };
            self.out.write_all(text.as_bytes())?;
        }
        if !self.rows.is_empty() {
            let header = table::header(self.renderer.options());
            let text = crate::output::table::render(&header, &self.rows);
            self.out.write_all(text.as_bytes())?;
        }
        self.out.flush()?;
        self.err.flush()
    }
}
