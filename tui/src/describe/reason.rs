//! Verdicts, drop reasons and event types in words: the VERDICT and REASON columns, the
//! drops-by-reason panel and the detail pane.

pub use observe_flags::names::is_policy_verdict;
use observe_flags::names::{TYPE_DROP, TYPE_POLICY_VERDICT, TYPE_TRACE};
use observe_proto::flow::{DropReason, Flow, TraceObservationPoint, TrafficDirection, Verdict};

/// The verdict as Hubble prints it (`FORWARDED`, `DROPPED`, ...).
pub fn verdict(flow: &Flow) -> &'static str {
    match flow.verdict() {
        Verdict::Unknown => "UNKNOWN",
        v => v.as_str_name(),
    }
}

/// The VERDICT column: Hubble's word, which for policy-verdict events is `ALLOWED`,
/// `DENIED` or `AUDITED` (`observe_flags::names::verdict_word`), `UNKNOWN` for no verdict.
pub fn verdict_word(flow: &Flow) -> &'static str {
    match flow.verdict() {
        Verdict::Unknown => "UNKNOWN",
        _ => observe_flags::names::verdict_word(flow),
    }
}

/// Whether the flow's verdict is a drop (a drop event or a denying policy verdict).
pub fn is_drop(flow: &Flow) -> bool {
    flow.verdict() == Verdict::Dropped
}

/// Whether the flow is a drop event, the one a dropped packet produces: what drop rates and
/// drop panels count, so a denied packet's policy-verdict event does not count it twice.
pub fn is_drop_event(flow: &Flow) -> bool {
    is_drop(flow) && !is_policy_verdict(flow)
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

/// The human text Hubble prints for a drop reason, or its enum name / number when the
/// table (`probe_common::drop_reason`) does not know it.
pub fn drop_text(code: u32) -> String {
    u8::try_from(code)
        .ok()
        .and_then(probe_common::drop_reason::known_text)
        .map_or_else(|| drop_name(code), str::to_string)
}

/// The REASON column: the drop text for drops, else what kind of event it is
/// (`to-endpoint`, `policy-verdict`).
pub fn reason(flow: &Flow) -> String {
    if is_drop_event(flow) {
        return drop_text(drop_code(flow));
    }
    event_kind(flow)
}

/// What the datapath reported: `drop`, `policy-verdict`, or the trace observation point.
pub fn event_kind(flow: &Flow) -> String {
    match flow.event_type.as_ref().map_or(0, |e| e.r#type) {
        TYPE_DROP => "drop".into(),
        TYPE_POLICY_VERDICT => "policy-verdict".into(),
        TYPE_TRACE | 0 => trace_point(flow).unwrap_or_else(|| "trace".into()),
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

    #[test]
    fn policy_verdicts_read_like_hubble_and_are_not_counted_as_drops() {
        let mut f = Flow {
            verdict: Verdict::Dropped.into(),
            drop_reason_desc: DropReason::PolicyDenied.into(),
            event_type: Some(observe_proto::flow::CiliumEventType {
                r#type: 5,
                sub_type: 0,
            }),
            ..Default::default()
        };
        assert_eq!(verdict_word(&f), "DENIED");
        assert_eq!(verdict(&f), "DROPPED", "what --verdict filters on");
        assert_eq!(reason(&f), "policy-verdict");
        assert!(is_drop(&f) && !is_drop_event(&f));
        f.verdict = Verdict::Forwarded.into();
        assert_eq!(verdict_word(&f), "ALLOWED");
        f.event_type = None;
        f.verdict = Verdict::Dropped.into();
        assert!(is_drop_event(&f), "a drop without an event type is a drop");
    }
}
