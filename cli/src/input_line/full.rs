//! The reference reader of a line: serde_json, typed, then as a `Value` to tell the shapes
//! apart. Every line [`super::fast`] does not decide is read here, so every error comes
//! from here, with serde_json's message.

use anyhow::{Context, Result, bail};
use observe_proto::flow::Flow;
use observe_proto::observer::GetFlowsResponse;
use observe_proto::observer::get_flows_response::ResponseTypes;
use serde_json::Value;

use super::{RESPONSE_KEYS, SKIPPED_KEYS};

/// One line as a response; `None` for blank lines and skipped event kinds.
///
/// # Errors
///
/// The line is not a JSON object of a known shape.
pub fn parse_line_with_serde_json(line: &str) -> Result<Option<GetFlowsResponse>> {
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
    Ok(Some(bare_flow(flow)))
}

/// A bare flow as the response the agent would have sent.
pub(super) fn bare_flow(flow: Flow) -> GetFlowsResponse {
    GetFlowsResponse {
        node_name: flow.node_name.clone(),
        time: flow.time,
        response_types: Some(ResponseTypes::Flow(flow)),
    }
}
