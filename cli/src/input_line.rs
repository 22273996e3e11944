//! One `--input-file` line of `observe flows`: a `GetFlowsResponse` (`observe flows -o
//! jsonpb`, `hubble observe -o jsonpb`), an exporter `ExportEvent` (same shape; agent and
//! debug events are skipped) or a bare `Flow` (`hubble observe -o json` with legacy
//! output). Blank lines are skipped. Reading the file and choosing flows is
//! `commands::flows::replay`'s.

use anyhow::{Context, Result, bail};
use observe_proto::flow::Flow;
use observe_proto::observer::GetFlowsResponse;
use observe_proto::observer::get_flows_response::ResponseTypes;
use serde_json::Value;

/// Keys that make a line a `GetFlowsResponse` (or `ExportEvent`).
const RESPONSE_KEYS: &[&str] = &["flow", "lost_events", "node_status"];
/// `ExportEvent` kinds `observe flows` does not print.
const SKIPPED_KEYS: &[&str] = &["agent_event", "debug_event"];

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
    // The common shape first, in one typed pass: a response with its event. Anything else
    // (a bare flow, an export event of a skipped kind, an error) is told apart below.
    if let Ok(response) = serde_json::from_str::<GetFlowsResponse>(line)
        && response.response_types.is_some()
    {
        return Ok(Some(response));
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
