//! `--input-file FILE|-`: flows from a JSON-lines file instead of the agent. Each line is
//! a `GetFlowsResponse` (`observe flows -o jsonpb`, `hubble observe -o jsonpb`), an
//! exporter `ExportEvent` (same shape; agent and debug events are skipped) or a bare
//! `Flow` (`hubble observe -o json` with legacy output). Blank lines are skipped; a line
//! that is not JSON stops the replay with its line number.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};

use anyhow::{Context, Result, anyhow, bail};
use observe_filter::{Compiled, FieldMask};
use observe_proto::flow::Flow;
use observe_proto::observer::get_flows_response::ResponseTypes;
use observe_proto::observer::{GetFlowsRequest, GetFlowsResponse};
use serde_json::Value;

use super::selection::Selection;
use crate::output::flows::FlowPrinter;

/// Keys that make a line a `GetFlowsResponse` (or `ExportEvent`).
const RESPONSE_KEYS: &[&str] = &["flow", "lost_events", "node_status"];
/// `ExportEvent` kinds `observe flows` does not print.
const SKIPPED_KEYS: &[&str] = &["agent_event", "debug_event"];

/// Replays `path` (`-` for stdin) through `selection` into `printer`.
///
/// # Errors
///
/// The file cannot be read, a line is not a flow, or writing fails.
pub fn run<W: Write, E: Write>(
    path: &str,
    mut selection: Selection,
    mut printer: FlowPrinter<W, E>,
) -> Result<()> {
    let reader: Box<dyn BufRead> = if path == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = File::open(path).with_context(|| format!("cannot open --input-file {path}"))?;
        Box::new(BufReader::new(file))
    };
    for (number, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {path}"))?;
        let parsed = parse_line(&line).with_context(|| format!("{path}:{}", number + 1))?;
        let Some(response) = parsed else {
            continue;
        };
        for out in selection.offer(response) {
            printer.write(&out)?;
        }
        if selection.is_done() {
            break;
        }
    }
    for out in selection.finish() {
        printer.write(&out)?;
    }
    printer.finish()?;
    Ok(())
}

/// One line as a response; `None` for blank lines and skipped event kinds.
///
/// # Errors
///
/// The line is not a JSON object of a known shape.
pub fn parse_line(line: &str) -> Result<Option<GetFlowsResponse>> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(line).context("not JSON")?;
    let Some(object) = value.as_object() else {
        bail!("expected a JSON object (a GetFlowsResponse or a Flow)");
    };
    if SKIPPED_KEYS.iter().any(|k| object.contains_key(*k)) {
        return Ok(None);
    }
    if RESPONSE_KEYS.iter().any(|k| object.contains_key(*k)) {
        let response: GetFlowsResponse =
            serde_json::from_value(value).context("not a GetFlowsResponse")?;
        return Ok(Some(response));
    }
    let flow: Flow = serde_json::from_value(value).context("not a Flow")?;
    Ok(Some(GetFlowsResponse {
        node_name: flow.node_name.clone(),
        time: flow.time,
        response_types: Some(ResponseTypes::Flow(flow)),
    }))
}

/// The request a replay honors: filters, selectors and the field mask, no server.
///
/// # Errors
///
/// A filter or a field mask path the agent would reject.
pub fn selection(request: &GetFlowsRequest, mask: &[String]) -> Result<Selection> {
    let filters = compile_filters(request)?;
    Ok(Selection::new(filters, request, compile_mask(mask)?))
}

/// The request's filters, compiled as the agent compiles them.
///
/// # Errors
///
/// The first invalid filter value, naming its field.
pub fn compile_filters(request: &GetFlowsRequest) -> Result<Compiled> {
    observe_filter::build(&request.whitelist, &request.blacklist)
        .map_err(|e| anyhow!("invalid filter: {e}"))
}

/// `--field-mask`, compiled as the agent compiles it (`None`: every field).
///
/// # Errors
///
/// The first path the agent would reject.
pub fn compile_mask(paths: &[String]) -> Result<Option<FieldMask>> {
    FieldMask::new(paths).map_err(|e| {
        anyhow!("invalid --field-mask: {e} (paths are proto field names, e.g. time, verdict, IP, l4.TCP, source.pod_name)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_every_known_shape() {
        let response = r#"{"flow":{"uuid":"a"},"node_name":"n1"}"#;
        let bare = r#"{"uuid":"b","node_name":"n2","time":"2024-01-01T00:00:00Z"}"#;
        let lost = r#"{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"1"}}"#;
        let agent = r#"{"agent_event":{"type":"AGENT_STARTED"}}"#;
        assert_eq!(parse_line(response).unwrap().unwrap().node_name, "n1");
        let bare = parse_line(bare).unwrap().unwrap();
        assert_eq!(bare.node_name, "n2");
        assert!(bare.time.is_some());
        assert!(matches!(
            parse_line(lost).unwrap().unwrap().response_types,
            Some(ResponseTypes::LostEvents(_))
        ));
        assert!(parse_line(agent).unwrap().is_none());
        assert!(parse_line("  ").unwrap().is_none());
        assert!(parse_line("[1]").is_err());
        assert!(parse_line("{not json").is_err());
    }
}
