//! Flow printers: `GetFlowsResponse`s to text in the formats of `hubble observe`
//! (compact, dict, jsonpb, table). Each format is a file of pure functions from a
//! response to a line, block or row; [`FlowPrinter`] only routes responses to them and
//! writes the results, propagating every I/O error (a closed pipe ends `observe flows`).
//!
//! - [`fields`]: columns shared by the human formats; [`lost`]: loss reports.
//! - [`styled`]: colors, with every span sanitized; [`time`]: `--time-format`.
//!
//! The words themselves (drop-reason texts, the policy attribution of drops and policy
//! verdicts, loss advice, the sanitizer) come from `observe-describe`, shared with the TUI.

pub mod compact;
pub mod dict;
pub mod fields;
pub mod jsonpb;
pub mod lost;
pub mod node_status;
pub mod raw_filters;
pub mod styled;
pub mod table;
pub mod time;

use std::io::{self, Write};

use observe_proto::observer::GetFlowsResponse;
use observe_proto::observer::get_flows_response::ResponseTypes;

use styled::Styled;
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
}

/// Writes responses to `out` (and node status messages to `err`).
pub struct FlowPrinter<W: Write, E: Write> {
    out: W,
    err: E,
    options: Options,
    /// Dict blocks written so far (for separators).
    blocks: usize,
    /// Table rows, printed by [`FlowPrinter::finish`].
    rows: Vec<Vec<String>>,
    /// The line being built and its rendering, reused for every line.
    line: Styled,
    rendered: String,
}

impl<W: Write, E: Write> FlowPrinter<W, E> {
    /// A printer writing to `out` and `err`.
    pub fn new(out: W, err: E, options: Options) -> Self {
        Self {
            out,
            err,
            options,
            blocks: 0,
            rows: Vec::new(),
            line: Styled::new(),
            rendered: String::new(),
        }
    }

    /// Prints one response.
    ///
    /// # Errors
    ///
    /// Any write error (a closed pipe included).
    pub fn write(&mut self, response: &GetFlowsResponse) -> io::Result<()> {
        let o = self.options;
        if o.format == Format::Json {
            return self.write_json(response);
        }
        match response.response_types.as_ref() {
            Some(ResponseTypes::Flow(flow)) => match o.format {
                Format::Table => self.rows.push(table::flow_row(flow, &o)),
                Format::Dict => self.block(dict::flow_block(flow, &o))?,
                _ => {
                    self.line.clear();
                    compact::flow_line_into(&mut self.line, flow, &o);
                    self.write_line()?;
                }
            },
            Some(ResponseTypes::LostEvents(lost)) => match o.format {
                Format::Table => self.rows.push(table::lost_row(response, lost, &o)),
                Format::Dict => self.block(dict::lost_block(response, lost, &o))?,
                _ => self.line(compact::lost_line(response, lost, &o))?,
            },
            Some(ResponseTypes::NodeStatus(status)) => {
                if let Some(line) = node_status::line(response, status, &o) {
                    writeln!(self.err, "{}", line.render(false))?;
                }
            }
            None => {}
        }
        Ok(())
    }

    fn write_json(&mut self, response: &GetFlowsResponse) -> io::Result<()> {
        let line = jsonpb::line(response)?;
        if matches!(response.response_types, Some(ResponseTypes::NodeStatus(_))) {
            writeln!(self.err, "{line}")
        } else {
            writeln!(self.out, "{line}")
        }
    }

    fn line(&mut self, line: Styled) -> io::Result<()> {
        self.line = line;
        self.write_line()
    }

    /// Writes `self.line`, rendered, and a newline.
    fn write_line(&mut self) -> io::Result<()> {
        self.rendered.clear();
        self.line
            .render_into(self.options.color, &mut self.rendered);
        self.rendered.push('\n');
        self.out.write_all(self.rendered.as_bytes())
    }

    fn block(&mut self, lines: Vec<Styled>) -> io::Result<()> {
        if self.blocks > 0 {
            writeln!(self.out, "{}", dict::SEPARATOR)?;
        }
        self.blocks += 1;
        for line in lines {
            self.line(line)?;
        }
        Ok(())
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
        if !self.rows.is_empty() {
            let header = table::header(&self.options);
            let text = crate::output::table::render(&header, &self.rows);
            self.out.write_all(text.as_bytes())?;
        }
        self.out.flush()?;
        self.err.flush()
    }
}
