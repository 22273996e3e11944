//! Verdicts, drop reasons and event types in words: the VERDICT and REASON columns, the
//! drops-by-reason panel and the detail pane.

use observe_proto::flow::{DropReason, Flow, TraceObservationPoint, TrafficDirection, Verdict};

/// The verdict as Hubble prints it (`FORWARDED`, `DROPPED`, ...).
pub fn verdict(flow: &Flow) -> &'static str {
    match flow.verdict() {
        Verdict::Unknown => "UNKNOWN",
        v => v.as_str_name(),
    }
}

/// Whether the flow is a drop.
pub fn is_drop(flow: &Flow) -> bool {
    flow.verdict() == Verdict::Dropped
}

/// The drop reason code (from `drop_reason_desc`, else the deprecated `drop_reason`).
#[expect(
    deprecated,
    reason = "older agents and Hubble set only the numeric drop_reason"
)]
pub fn drop_code(flow: &Flow) -> u32 {
    match u32::try_from(flow.drop_reason_desc) {
        Ok(code) if code != 0 => code,
        _ => flow.drop_reason,
    }
}

/// The enum name of a drop reason (`POLICY_DENIED`), or the number when unknown.
pub fn drop_name(code: u32) -> String {
    i32::try_from(code)
        .ok()
        .and_then(|c| DropReason::try_from(c).ok())
        .filter(|r| *r != DropReason::Unknown)
        .map_or_else(|| code.to_string(), |r| r.as_str_name().to_string())
}

/// The human text Hubble prints for a drop reason (`pkg/monitor/api/drop.go`).
pub fn drop_text(code: u32) -> String {
    let known = match code {
        132 => "Invalid source ip",
        133 => "Policy denied",
        134 => "Invalid packet",
        135 => "CT: Truncated or invalid header",
        137 => "CT: Unknown L4 protocol",
        139 => "Unsupported L3 protocol",
        140 => "Missed tail call",
        141 => "Error writing to packet",
        142 => "Unknown L4 protocol",
        143 => "Unknown ICMPv4 code",
        144 => "Unknown ICMPv4 type",
        145 => "Unknown ICMPv6 code",
        146 => "Unknown ICMPv6 type",
        150 => "Unknown L3 target address",
        151 => "Stale or unroutable IP",
        153 => "Error while correcting L3 checksum",
        154 => "Error while correcting L4 checksum",
        155 => "CT: Map insertion failed",
        156 => "Invalid IPv6 extension header",
        157 => "IP fragmentation not supported",
        158 => "Service backend not found",
        163 => "Unknown connection tracking state",
        165 => "No configuration available to perform policy decision",
        169 => "FIB lookup failed",
        171 => "Invalid identity",
        175 => "First logical datagram fragment not found",
        177 => "Denied by LB src range check",
        181 => "Policy denied by denylist",
        189 => "Authentication required",
        195 => "Traffic is unencrypted",
        196 => "TTL exceeded",
        198 => "Rate limited",
        203 => "Endpoint policy program not available",
        _ => "",
    };
    if known.is_empty() {
        drop_name(code)
    } else {
        known.to_string()
    }
}

/// The REASON column: the drop text for drops, else what kind of event it is
/// (`to-endpoint`, `policy-verdict`).
pub fn reason(flow: &Flow) -> String {
    if is_drop(flow) {
        return drop_text(drop_code(flow));
    }
    event_kind(flow)
}

/// What the datapath reported: `drop`, `policy-verdict`, or the trace observation point.
pub fn event_kind(flow: &Flow) -> String {
    match flow.event_type.as_ref().map_or(0, |e| e.r#type) {
        1 => "drop".into(),
        5 => "policy-verdict".into(),
        4 | 0 => trace_point(flow).unwrap_or_else(|| "trace".into()),
        other => format!("event {other}"),
    }
}

fn trace_point(flow: &Flow) -> Option<String> {
    let point = flow.trace_observation_point();
    (point != TraceObservationPoint::UnknownPoint)
        .then(|| point.as_str_name().to_ascii_lowercase().replace('_', "-"))
}

/// `ingress`, `egress` or `unknown direction`.
pub fn direction(flow: &Flow) -> &'static str {
    direction_name(flow.traffic_direction())
}

/// `ingress`, `egress` or `unknown direction`.
pub fn direction_name(direction: TrafficDirection) -> &'static str {
    match direction {
        TrafficDirection::Ingress => "ingress",
        TrafficDirection::Egress => "egress",
        TrafficDirection::Unknown => "unknown direction",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_drop_reasons_read_like_hubble() {
        assert_eq!(drop_text(133), "Policy denied");
        assert_eq!(drop_text(181), "Policy denied by denylist");
        assert_eq!(drop_name(181), "POLICY_DENY");
        assert_eq!(drop_text(60_000), "60000");
    }

    #[test]
    fn forwarded_flows_show_their_observation_point() {
        let mut f = Flow {
            verdict: Verdict::Forwarded.into(),
            trace_observation_point: TraceObservationPoint::ToEndpoint.into(),
            ..Default::default()
        };
        assert_eq!(reason(&f), "to-endpoint");
        f.verdict = Verdict::Dropped.into();
        f.drop_reason_desc = DropReason::PolicyDenied.into();
        assert_eq!(reason(&f), "Policy denied");
    }
}
