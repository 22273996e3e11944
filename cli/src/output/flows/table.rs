//! The table format: `TIMESTAMP [NODE] SOURCE DESTINATION TYPE VERDICT SUMMARY`, columns
//! aligned over all rows (so it cannot stream: no `--follow`), never colored. Cells are
//! sanitized like every other output.

use observe_proto::flow::{Flow, LostEvent};
use observe_proto::observer::GetFlowsResponse;

use super::styled::Styled;
use super::time::format;
use super::{Options, fields, lost};

/// The header row.
pub fn header(o: &Options) -> Vec<&'static str> {
    let mut h = vec!["TIMESTAMP"];
    if o.node_name {
        h.push("NODE");
    }
    h.extend(["SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY"]);
    h
}

/// The row of a flow.
pub fn flow_row(flow: &Flow, o: &Options) -> Vec<String> {
    let (src, dst) = fields::hosts(flow, o.numeric);
    let mut row = vec![format(flow.time.as_ref(), o.time_format)];
    if o.node_name {
        row.push(cell(&flow.node_name));
    }
    row.extend([
        src.render(false),
        dst.render(false),
        cell(&fields::flow_type(flow)),
        fields::verdict(flow, o.policy_names).render(false),
        fields::summary(flow).render(false),
    ]);
    row
}

/// The row of a loss report: the source in SOURCE, `EVENTS LOST` in TYPE.
pub fn lost_row(response: &GetFlowsResponse, report: &LostEvent, o: &Options) -> Vec<String> {
    let when = response.time.as_ref().or(report.last.as_ref());
    let mut row = vec![format(when, o.time_format)];
    if o.node_name {
        row.push(cell(&response.node_name));
    }
    let cpu = report.cpu.map_or(0, |c| c.value);
    row.extend([
        report.source().as_str_name().to_string(),
        String::new(),
        "EVENTS LOST".into(),
        String::new(),
        format!(
            "CPU({cpu}) - {} ({})",
            report.num_events_lost,
            lost::hint(report.source())
        ),
    ]);
    row
}

fn cell(text: &str) -> String {
    let mut s = Styled::new();
    s.plain(text);
    s.render(false)
}
