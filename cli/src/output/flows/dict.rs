//! The dict format (like MySQL's `\G`): one `KEY: value` block per event, keys
//! right-aligned, blocks separated by a dashed line, as Hubble prints it. Drops carry
//! their policy attribution on the VERDICT line; loss reports add a HINT line.

use observe_proto::flow::{Flow, LostEvent};
use observe_proto::observer::GetFlowsResponse;

use super::styled::Styled;
use super::time::format;
use super::{Options, fields, lost};

/// What goes between two blocks.
pub const SEPARATOR: &str = "------------";

/// The lines of a flow's block.
pub fn flow_block(flow: &Flow, o: &Options) -> Vec<Styled> {
    let (src, dst) = fields::hosts(flow, o.numeric);
    let mut b = Vec::new();
    key(
        &mut b,
        "TIMESTAMP",
        plain(format(flow.time.as_ref(), o.time_format)),
    );
    if o.node_name {
        key(&mut b, "NODE", plain(flow.node_name.clone()));
    }
    key(&mut b, "SOURCE", src);
    key(&mut b, "DESTINATION", dst);
    key(&mut b, "TYPE", plain(fields::flow_type(flow)));
    key(&mut b, "VERDICT", fields::verdict(flow, o.policy_names));
    key(&mut b, "SUMMARY", fields::summary(flow));
    if let Some(text) = observe_describe::connection::text(flow) {
        key(&mut b, "CONNECTION", plain(text));
    }
    b
}

/// The lines of a loss report's block.
pub fn lost_block(response: &GetFlowsResponse, report: &LostEvent, o: &Options) -> Vec<Styled> {
    let when = response.time.as_ref().or(report.last.as_ref());
    let mut b = Vec::new();
    key(&mut b, "TIMESTAMP", plain(format(when, o.time_format)));
    if o.node_name {
        key(&mut b, "NODE", plain(response.node_name.clone()));
    }
    key(
        &mut b,
        "SOURCE",
        plain(report.source().as_str_name().to_string()),
    );
    key(&mut b, "TYPE", plain("EVENTS LOST".into()));
    key(&mut b, "VERDICT", Styled::new());
    let cpu = report.cpu.map_or(0, |c| c.value);
    let summary = format!(
        "CPU({cpu}) - {}{}",
        report.num_events_lost,
        lost::range(report, o.time_format)
    );
    key(&mut b, "SUMMARY", plain(summary));
    key(
        &mut b,
        "HINT",
        plain(lost::hint(report.source()).to_string()),
    );
    b
}

fn plain(text: String) -> Styled {
    let mut s = Styled::new();
    s.plain(text);
    s
}

/// `KEY: value` with the key right-aligned to the widest key (DESTINATION).
fn key(block: &mut Vec<Styled>, name: &str, value: Styled) {
    let mut line = Styled::new();
    line.plain(format!("{name:>11}: ")).append(value);
    block.push(line);
}
