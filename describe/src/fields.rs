//! Every set field of a flow, as `path: value` lines for the detail pane.
//!
//! The flow goes through its proto3 JSON form (the one `observe flows -o json` prints),
//! which leaves out unset fields and names enums, so the list is complete for any field
//! the proto has, now or later, without a hand-written line per field.

use observe_proto::flow::Flow;
use serde_json::Value;

use crate::sanitize::cleaned;

/// Top-level fields in the order a person troubleshooting wants them; the others follow
/// alphabetically.
const ORDER: &[&str] = &[
    "time",
    "uuid",
    "verdict",
    "drop_reason_desc",
    "drop_reason",
    "traffic_direction",
    "is_reply",
    "source",
    "destination",
    "IP",
    "l4",
    "source_names",
    "destination_names",
    "source_service",
    "destination_service",
    "attribution",
    "ingress_denied_by",
    "egress_denied_by",
    "ingress_allowed_by",
    "egress_allowed_by",
    "policy_log",
    "Summary",
    "Type",
    "event_type",
    "trace_observation_point",
    "trace_reason",
    "policy_match_type",
    "node_name",
    "interface",
];

/// `(path, value)` for every set field; nested messages as `a.b`, list items as `a[0]`,
/// lists of plain values joined with `, `.
pub fn fields(flow: &Flow) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match serde_json::to_value(flow) {
        Ok(Value::Object(map)) => {
            let mut top: Vec<_> = map.iter().collect();
            top.sort_by_key(|(k, _)| {
                (
                    ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()),
                    k.as_str(),
                )
            });
            for (key, value) in top {
                flatten(&cleaned(key), value, &mut out);
            }
        }
        Ok(other) => flatten("flow", &other, &mut out),
        Err(err) => out.push(("error".into(), format!("cannot list fields: {err}"))),
    }
    out
}

fn flatten(path: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let sub = if path.is_empty() {
                    cleaned(key)
                } else {
                    format!("{path}.{}", cleaned(key))
                };
                flatten(&sub, v, out);
            }
        }
        Value::Array(items) if items.iter().all(is_scalar) => {
            let joined: Vec<String> = items.iter().map(scalar).collect();
            out.push((path.to_string(), joined.join(", ")));
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{path}[{i}]"), v, out);
            }
        }
        v => out.push((path.to_string(), scalar(v))),
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Object(_) | Value::Array(_))
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => cleaned(s),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use observe_proto::flow::{Endpoint, Verdict};

    #[test]
    fn set_fields_are_listed_with_paths_and_unset_ones_are_not() {
        let flow = Flow {
            verdict: Verdict::Dropped.into(),
            source: Some(Endpoint {
                labels: vec!["k8s:app=web".into(), "k8s:x=\u{1b}[1m".into()],
                ..Default::default()
            }),
            ..Default::default()
        };
        let f = fields(&flow);
        assert!(f.contains(&("verdict".into(), "DROPPED".into())), "{f:?}");
        assert!(
            f.contains(&("source.labels".into(), "k8s:app=web, k8s:x=^[[1m".into())),
            "{f:?}"
        );
        assert!(!f.iter().any(|(k, _)| k == "uuid"));
    }
}
