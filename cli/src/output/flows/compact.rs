//! The compact format, one line per event, exactly Hubble's:
//!
//! ```text
//! <time>[ [node]]: <src> <srcIdentity> <arrow> <dst> <dstIdentity> <TYPE> <VERDICT> (<Summary>)
//! ```
//!
//! The arrow is `->` for a request, `<-` for a reply (source and destination swapped, so
//! the client stays on the left) and `<>` when the direction is unknown. VERDICT carries
//! the policy attribution of drops (see `observe_describe::attribution`). Lost events are
//! `<time>[ [node]]: EVENTS LOST: <SOURCE> CPU(n) <count> (first: T, last: T) hint: ...`.

use observe_proto::flow::{Flow, LostEvent};
use observe_proto::observer::GetFlowsResponse;

use super::styled::Styled;
use super::time::format;
use super::{Options, fields, lost};

/// The line of a flow, without newline.
pub fn flow_line(flow: &Flow, o: &Options) -> Styled {
    let (mut src, mut dst) = fields::hosts(flow, o.numeric);
    let (mut src_id, mut dst_id) = fields::identities(flow);
    let arrow = match flow.is_reply.map(|b| b.value) {
        None => "<>",
        Some(false) => "->",
        Some(true) => {
            std::mem::swap(&mut src, &mut dst);
            std::mem::swap(&mut src_id, &mut dst_id);
            "<-"
        }
    };
    let mut line = prefix(
        format(flow.time.as_ref(), o.time_format),
        &flow.node_name,
        o,
    );
    line.append(src).plain(" ").append(src_id);
    line.plain(format!(" {arrow} "));
    line.append(dst).plain(" ").append(dst_id);
    line.plain(format!(" {} ", fields::flow_type(flow)));
    line.append(fields::verdict(flow, o.policy_names));
    line.plain(" (").append(fields::summary(flow)).plain(")");
    line
}

/// The line of a loss report, without newline.
pub fn lost_line(response: &GetFlowsResponse, report: &LostEvent, o: &Options) -> Styled {
    let when = response.time.as_ref().or(report.last.as_ref());
    let mut line = prefix(format(when, o.time_format), &response.node_name, o);
    line.plain(lost::headline(report));
    line.plain(lost::range(report, o.time_format));
    line.plain(format!(" hint: {}", lost::hint(report.source())));
    line
}

/// `<time>[ [node]]: `.
fn prefix(time: String, node: &str, o: &Options) -> Styled {
    let mut line = Styled::new();
    line.plain(time);
    if o.node_name {
        line.plain(format!(" [{node}]"));
    }
    line.plain(": ");
    line
}
