//! What one response prints as, apart from where it goes: a line for stdout, a dict
//! block, a line for stderr (node status), a table row, or nothing. Rendering keeps no
//! state between responses (the printer adds dict separators and collects rows), so a
//! replay renders on its reader threads and prints in file order on its own.

use std::io;
use std::ops::Range;

use observe_proto::observer::GetFlowsResponse;
use observe_proto::observer::get_flows_response::ResponseTypes;

use super::styled::Styled;
use super::{Format, Options, compact, dict, jsonpb, node_status, table};

/// One response's output; text ranges are into the buffer it was rendered into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Printed {
    /// Lines for stdout, newlines included.
    Out(Range<usize>),
    /// A dict block for stdout (the printer writes a separator before all but the
    /// first).
    Block(Range<usize>),
    /// A line for stderr, newline included.
    Err(Range<usize>),
    /// A table row (the printer aligns the rows at the end).
    Row(Vec<String>),
    /// A flow of this group, at this time (`--aggregate-by`: the printer counts).
    Group(Vec<String>, Option<observe_proto::Timestamp>),
    /// Nothing.
    Nothing,
}

impl Printed {
    /// The same output with its text at the start of a buffer of its own: what is held
    /// past the buffer it was rendered into (`--last N`).
    pub fn detach(self, text: &str) -> (Printed, String) {
        let own = |range: Range<usize>| text.get(range).unwrap_or_default().to_string();
        match self {
            Printed::Out(range) => {
                let own = own(range);
                (Printed::Out(0..own.len()), own)
            }
            Printed::Block(range) => {
                let own = own(range);
                (Printed::Block(0..own.len()), own)
            }
            Printed::Err(range) => {
                let own = own(range);
                (Printed::Err(0..own.len()), own)
            }
            other => (other, String::new()),
        }
    }
}

/// Renders responses with fixed [`Options`], reusing its line buffer.
#[derive(Clone, Debug)]
pub struct Renderer {
    options: Options,
    line: Styled,
}

impl Renderer {
    /// A renderer for `options`.
    pub fn new(options: Options) -> Self {
        Self {
            options,
            line: Styled::new(),
        }
    }

    /// The options it renders with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Renders `response`, appending its text to `text`.
    ///
    /// # Errors
    ///
    /// JSON output of a time out of range.
    pub fn render(
        &mut self,
        response: &GetFlowsResponse,
        text: &mut String,
    ) -> io::Result<Printed> {
        let o = self.options;
        let start = text.len();
        if let (Some(by), Some(ResponseTypes::Flow(flow))) = (o.aggregate, &response.response_types)
        {
            return Ok(Printed::Group(by.key_of(flow, o.numeric), flow.time));
        }
        if o.format == Format::Json {
            text.push_str(&jsonpb::line(response)?);
            text.push('\n');
            return Ok(match response.response_types {
                Some(ResponseTypes::NodeStatus(_)) => Printed::Err(start..text.len()),
                _ => Printed::Out(start..text.len()),
            });
        }
        Ok(match response.response_types.as_ref() {
            Some(ResponseTypes::Flow(flow)) => match o.format {
                Format::Table => Printed::Row(table::flow_row(flow, &o)),
                Format::Dict => self.block(dict::flow_block(flow, &o), text),
                _ => {
                    self.line.clear();
                    compact::flow_line_into(&mut self.line, flow, &o);
                    self.line.render_into(o.color, text);
                    text.push('\n');
                    Printed::Out(start..text.len())
                }
            },
            Some(ResponseTypes::LostEvents(lost)) => match o.format {
                Format::Table => Printed::Row(table::lost_row(response, lost, &o)),
                Format::Dict => self.block(dict::lost_block(response, lost, &o), text),
                _ => {
                    compact::lost_line(response, lost, &o).render_into(o.color, text);
                    text.push('\n');
                    Printed::Out(start..text.len())
                }
            },
            Some(ResponseTypes::NodeStatus(status)) => {
                match node_status::line(response, status, &o) {
                    Some(line) => {
                        line.render_into(false, text);
                        text.push('\n');
                        Printed::Err(start..text.len())
                    }
                    None => Printed::Nothing,
                }
            }
            None => Printed::Nothing,
        })
    }

    fn block(&self, lines: Vec<Styled>, text: &mut String) -> Printed {
        let start = text.len();
        for line in lines {
            line.render_into(self.options.color, text);
            text.push('\n');
        }
        Printed::Block(start..text.len())
    }
}
