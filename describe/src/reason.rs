//! What kind of event a flow is, in words: the dashboard's REASON column (the drop text
//! for drops, else `policy-verdict` or the trace observation point such as
//! `to-endpoint`) and traffic directions (`ingress`, `egress`).

use observe_flags::names::{TYPE_DROP, TYPE_POLICY_VERDICT, TYPE_TRACE};
use observe_proto::flow::{Flow, TraceObservationPoint, TrafficDirection};

use crate::drop_reason::{drop_code, drop_text};
use crate::verdict::is_drop_event;

/// The REASON column: the drop text for drops, else what kind of event it is
/// (`to-endpoint`, `policy-verdict`).
pub fn reason(flow: &Flow) -> String {
    if let Some(l7) = l7_summary(flow) {
        return l7;
    }
    if is_drop_event(flow) {
        return drop_text(drop_code(flow));
    }
    event_kind(flow)
}

/// An L7 flow's summary (`DNS Query api.partner.com. A`, `DNS Answer RCode: Query
/// Refused ...`): what the proxy saw says more than any event kind.
fn l7_summary(flow: &Flow) -> Option<String> {
    flow.l7.as_ref()?;
    #[allow(
        deprecated,
        reason = "the agent fills Summary for L7 flows, as Hubble does"
    )]
    let summary = flow.summary.clone();
    (!summary.is_empty()).then_some(summary)
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
    use observe_proto::flow::{DropReason, Verdict};

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
    #[allow(deprecated, reason = "the summary is Hubble's deprecated field")]
    fn dns_flows_show_what_was_asked_or_answered() {
        let f = Flow {
            verdict: Verdict::Dropped.into(),
            l7: Some(observe_proto::flow::Layer7::default()),
            summary: "DNS Query evil.example. A".into(),
            ..Default::default()
        };
        assert_eq!(reason(&f), "DNS Query evil.example. A");
    }
}
