//! The compact format, one line per event, exactly Hubble's:
//!
//! ```text
//! <time>[ [node]]: <src> <srcIdentity> <arrow> <dst> <dstIdentity> <TYPE> <VERDICT> (<Summary>)
//! ```
//!
//! The arrow is `->` for a request, `<-` for a reply (source and destination swapped, so
//! the client stays on the left) and `<>` when the direction is unknown. VERDICT carries
//! the policy attribution of drops (see `observe_describe::attribution`); while policies
//! are staged, new connections end with their staged verdict (`staged: DROPPED (...)`,
//! an extension), and an aggregated connection's trace events with its counters
//! (`[connection: ...]`, an extension). Lost events are
//! `<time>[ [node]]: EVENTS LOST: <SOURCE> CPU(n) <count> (first: T, last: T) hint: ...`.

use observe_proto::flow::{Flow, LostEvent};
use observe_proto::observer::GetFlowsResponse;

use super::fields::{End, end_identity, flow_type_into, host_into, identity_into};
use super::styled::{Color, Styled};
use super::time::{format, format_into};
use super::{Options, fields, lost};

/// The line of a flow, without newline, appended to `line` (a printer reuses one for
/// every line).
pub fn flow_line_into(line: &mut Styled, flow: &Flow, o: &Options) {
    let (arrow, left, right) = match flow.is_reply.map(|b| b.value) {
        None => ("<>", End::Source, End::Destination),
        Some(false) => ("->", End::Source, End::Destination),
        Some(true) => ("<-", End::Destination, End::Source),
    };
    line.colored_with(Color::Plain, |text| {
        format_into(text, flow.time.as_ref(), o.time_format);
    });
    node_and_colon(line, &flow.node_name, o);
    end(line, flow, left, o);
    line.colored_with(Color::Plain, |text| {
        text.push(' ');
        text.push_str(arrow);
        text.push(' ');
    });
    end(line, flow, right, o);
    line.colored_with(Color::Plain, |text| {
        text.push(' ');
        flow_type_into(text, flow);
        text.push(' ');
    });
    fields::verdict_into(line, flow, o.policy_names);
    line.plain(" (");
    fields::summary_into(line, flow);
    line.plain(")");
    fields::connection_into(line, flow);
    fields::staged_into(line, flow);
}

/// `<host> <identity>` of one end.
fn end(line: &mut Styled, flow: &Flow, end: End, o: &Options) {
    host_into(line, flow, end, o.numeric);
    line.plain(" ");
    identity_into(line, end_identity(flow, end));
}

/// The line of a loss report, without newline.
pub fn lost_line(response: &GetFlowsResponse, report: &LostEvent, o: &Options) -> Styled {
    let when = response.time.as_ref().or(report.last.as_ref());
    let mut line = Styled::new();
    line.plain(format(when, o.time_format));
    node_and_colon(&mut line, &response.node_name, o);
    line.plain(lost::headline(report));
    line.plain(lost::range(report, o.time_format));
    line.plain(format!(" hint: {}", lost::hint(report.source())));
    line
}

/// `[ [node]]: ` after the time.
fn node_and_colon(line: &mut Styled, node: &str, o: &Options) {
    line.colored_with(Color::Plain, |text| {
        if o.node_name {
            text.push_str(" [");
            text.push_str(node);
            text.push(']');
        }
        text.push_str(": ");
    });
}
