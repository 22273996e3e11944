//! `--field-mask`: which flow fields to keep (proto field paths such as `time`,
//! `source.pod_name`, `IP`). The agent applies it to live flows; for `--input-file`
//! it is applied here, on the JSON form (whose keys are the proto field names).

use anyhow::{Result, bail};
use observe_proto::flow::Flow;
use serde_json::{Map, Value};

/// Top-level `Flow` fields, as paths start with them.
const FLOW_FIELDS: &[&str] = &[
    "time",
    "uuid",
    "emitter",
    "verdict",
    "drop_reason",
    "auth_type",
    "ethernet",
    "IP",
    "l4",
    "tunnel",
    "source",
    "destination",
    "Type",
    "node_name",
    "node_labels",
    "source_names",
    "destination_names",
    "l7",
    "reply",
    "event_type",
    "source_service",
    "destination_service",
    "traffic_direction",
    "policy_match_type",
    "trace_observation_point",
    "trace_reason",
    "file",
    "ip_trace_id",
    "drop_reason_desc",
    "is_reply",
    "debug_capture_point",
    "interface",
    "proxy_port",
    "trace_context",
    "sock_xlate_point",
    "socket_cookie",
    "cgroup_id",
    "Summary",
    "extensions",
    "egress_allowed_by",
    "ingress_allowed_by",
    "egress_denied_by",
    "ingress_denied_by",
    "policy_log",
    "aggregate",
    "attribution",
];

/// Checks that every path starts with a `Flow` field.
pub fn validate(paths: &[String]) -> Result<()> {
    for path in paths {
        let head = path.split('.').next().unwrap_or_default();
        if !FLOW_FIELDS.contains(&head) {
            bail!(
                "invalid --field-mask path {path:?}: {head:?} is not a Flow field (e.g. time, source.pod_name, IP, l4, verdict)"
            );
        }
    }
    Ok(())
}

/// `flow` with only the fields `paths` name.
pub fn apply(flow: &Flow, paths: &[String]) -> Result<Flow> {
    let full = serde_json::to_value(flow)?;
    let mut kept = Value::Object(Map::new());
    for path in paths {
        let parts: Vec<&str> = path.split('.').collect();
        copy(&full, &mut kept, &parts);
    }
    Ok(serde_json::from_value(kept)?)
}

/// Copies the value at `path` in `from` into the same place in `to`.
fn copy(from: &Value, to: &mut Value, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(value) = from.get(*first) else {
        return;
    };
    let Some(target) = to.as_object_mut() else {
        return;
    };
    if rest.is_empty() {
        target.insert((*first).to_string(), value.clone());
        return;
    }
    let child = target
        .entry((*first).to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    copy(value, child, rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use observe_proto::flow::{Endpoint, Verdict};

    #[test]
    fn keeps_only_the_named_paths() {
        let flow = Flow {
            uuid: "u".into(),
            verdict: Verdict::Dropped.into(),
            source: Some(Endpoint {
                pod_name: "web".into(),
                namespace: "shop".into(),
                identity: 7,
                ..Default::default()
            }),
            ..Default::default()
        };
        let paths = vec!["verdict".to_string(), "source.pod_name".to_string()];
        validate(&paths).unwrap();
        let masked = apply(&flow, &paths).unwrap();
        assert_eq!(masked.verdict(), Verdict::Dropped);
        assert_eq!(masked.uuid, "");
        let source = masked.source.unwrap();
        assert_eq!((source.pod_name.as_str(), source.identity), ("web", 0));
        assert!(validate(&["pod".to_string()]).is_err());
    }
}
