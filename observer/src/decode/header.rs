//! Flow fields that come straight from the event header: verdict, drop reason, event
//! type, observation point, connection state, reply flag, direction, match type.
//!
//! Each helper is a pure function of the [`FlowEvent`]; none of them fails or panics, so
//! any value the datapath sends maps to something (usually "unknown").

use observe_proto::flow::{
    CiliumEventType, DropReason, TraceObservationPoint, TraceReason, TrafficDirection, Verdict,
};
use probe_common::conntrack::state;
use probe_common::event::{FlowEvent, event_flags, kind, obs_point, verdict};

use super::ParseError;

/// The verdict: traces forward, drops drop, and policy verdicts say what policy decided
/// (an allow that sends the connection to the L7 proxy is REDIRECTED, as in Hubble; what
/// a policy in audit mode would drop is AUDIT).
pub(super) fn decode_verdict(ev: &FlowEvent) -> Result<Verdict, ParseError> {
    match ev.kind {
        kind::DROP => Ok(Verdict::Dropped),
        kind::TRACE => Ok(Verdict::Forwarded),
        kind::POLICY_VERDICT if ev.verdict == verdict::DENIED => Ok(Verdict::Dropped),
        // Hubble's order: a redirect says REDIRECTED even when audited.
        kind::POLICY_VERDICT if ev.flags & event_flags::REDIRECTED != 0 => Ok(Verdict::Redirected),
        kind::POLICY_VERDICT if ev.verdict == verdict::AUDIT => Ok(Verdict::Audit),
        // Any other verdict value is an allow: the datapath only denies explicitly.
        kind::POLICY_VERDICT => Ok(Verdict::Forwarded),
        other => Err(ParseError::UnknownEventKind(other)),
    }
}

/// The numeric drop reason (0 unless the flow was dropped).
pub(super) fn decode_drop_reason(ev: &FlowEvent, verdict: Verdict) -> u32 {
    match (verdict, ev.kind) {
        (Verdict::Dropped, kind::DROP) => u32::from(ev.subtype),
        // A denied policy verdict carries its reason separately (its subtype is 0).
        (Verdict::Dropped, _) => u32::from(ev.reason),
        _ => 0,
    }
}

/// The drop reason as the proto enum; codes the enum does not know map to UNKNOWN (the
/// numeric `drop_reason` keeps the code).
pub(super) fn decode_drop_reason_desc(code: u32) -> DropReason {
    i32::try_from(code)
        .ok()
        .and_then(|c| DropReason::try_from(c).ok())
        .unwrap_or(DropReason::Unknown)
}

/// Monitor type and subtype, unchanged: the CLI's `--type trace:to-endpoint` filters on
/// the raw subtype values.
pub(super) fn decode_event_type(ev: &FlowEvent) -> CiliumEventType {
    CiliumEventType {
        r#type: i32::from(ev.kind),
        sub_type: i32::from(ev.subtype),
    }
}

/// The observation point of a trace event. The monitor's "to endpoint" is 0, which the
/// proto reserves for "unknown", so it moves to 101; the other points keep their numbers.
pub(super) fn decode_observation_point(ev: &FlowEvent) -> TraceObservationPoint {
    if ev.kind != kind::TRACE {
        return TraceObservationPoint::UnknownPoint;
    }
    match ev.subtype {
        obs_point::TO_ENDPOINT => TraceObservationPoint::ToEndpoint,
        // 1..=13 are the same in the monitor and the proto (TO_PROXY .. TO_CRYPTO).
        point @ 1..=13 => TraceObservationPoint::try_from(i32::from(point)).unwrap_or_default(),
        _ => TraceObservationPoint::UnknownPoint,
    }
}

/// The connection tracking state; the datapath already uses the proto's numbers.
pub(super) fn decode_trace_reason(ev: &FlowEvent) -> TraceReason {
    match ev.ct_state {
        state::NEW => TraceReason::New,
        state::ESTABLISHED => TraceReason::Established,
        state::REPLY => TraceReason::Reply,
        state::RELATED => TraceReason::Related,
        _ => TraceReason::Unknown,
    }
}

/// Whether the packet is a reply. Known when conntrack looked the packet up (any state)
/// or when the event is a policy verdict (always about the first packet of a connection);
/// unknown otherwise, which clients print as `<>`.
pub(super) fn decode_is_reply(ev: &FlowEvent) -> Option<bool> {
    if ev.flags & event_flags::IS_REPLY != 0 || ev.ct_state == state::REPLY {
        Some(true)
    } else if ev.ct_state != 0 || ev.kind == kind::POLICY_VERDICT {
        Some(false)
    } else {
        None
    }
}

/// The direction of the connection relative to the endpoint. The datapath reports the
/// packet's direction at the hook; a reply travels against its connection, so its
/// direction is flipped (a reply leaving a server belongs to an ingress connection), as
/// Hubble does for trace events.
pub(super) fn decode_traffic_direction(ev: &FlowEvent, is_reply: Option<bool>) -> TrafficDirection {
    let packet = match ev.direction {
        probe_common::direction::INGRESS => TrafficDirection::Ingress,
        probe_common::direction::EGRESS => TrafficDirection::Egress,
        _ => return TrafficDirection::Unknown,
    };
    match (is_reply, packet) {
        (Some(true), TrafficDirection::Ingress) => TrafficDirection::Egress,
        (Some(true), TrafficDirection::Egress) => TrafficDirection::Ingress,
        _ => packet,
    }
}

/// The policy match type, only meaningful on policy verdict events.
pub(super) fn decode_policy_match_type(ev: &FlowEvent) -> u32 {
    if ev.kind == kind::POLICY_VERDICT {
        u32::from(ev.match_type)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use probe_common::direction::{EGRESS, INGRESS};

    fn ev(kind: u8, subtype: u8) -> FlowEvent {
        FlowEvent {
            kind,
            subtype,
            ..FlowEvent::default()
        }
    }

    #[test]
    fn verdicts_follow_the_event_kind() {
        assert_eq!(decode_verdict(&ev(kind::DROP, 133)), Ok(Verdict::Dropped));
        assert_eq!(decode_verdict(&ev(kind::TRACE, 0)), Ok(Verdict::Forwarded));
        let mut pv = ev(kind::POLICY_VERDICT, 0);
        assert_eq!(decode_verdict(&pv), Ok(Verdict::Forwarded));
        pv.flags = event_flags::REDIRECTED;
        assert_eq!(decode_verdict(&pv), Ok(Verdict::Redirected));
        pv.verdict = verdict::DENIED;
        assert_eq!(decode_verdict(&pv), Ok(Verdict::Dropped));
        assert_eq!(
            decode_verdict(&ev(2, 0)),
            Err(ParseError::UnknownEventKind(2))
        );
    }

    #[test]
    fn drop_reasons_come_from_subtype_or_reason() {
        let drop = ev(kind::DROP, 181);
        assert_eq!(decode_drop_reason(&drop, Verdict::Dropped), 181);
        let denied = FlowEvent {
            verdict: verdict::DENIED,
            reason: 133,
            ..ev(kind::POLICY_VERDICT, 0)
        };
        assert_eq!(decode_drop_reason(&denied, Verdict::Dropped), 133);
        assert_eq!(
            decode_drop_reason(&ev(kind::TRACE, 0), Verdict::Forwarded),
            0
        );
        assert_eq!(decode_drop_reason_desc(133), DropReason::PolicyDenied);
        assert_eq!(decode_drop_reason_desc(159), DropReason::Unknown);
        assert_eq!(decode_drop_reason_desc(u32::MAX), DropReason::Unknown);
    }

    #[test]
    fn observation_points_move_to_endpoint_to_101() {
        let point = |p| decode_observation_point(&ev(kind::TRACE, p));
        assert_eq!(
            point(obs_point::TO_ENDPOINT),
            TraceObservationPoint::ToEndpoint
        );
        assert_eq!(
            point(obs_point::FROM_ENDPOINT),
            TraceObservationPoint::FromEndpoint
        );
        assert_eq!(point(11), TraceObservationPoint::ToNetwork);
        assert_eq!(point(200), TraceObservationPoint::UnknownPoint);
        let drop = decode_observation_point(&ev(kind::DROP, 0));
        assert_eq!(drop, TraceObservationPoint::UnknownPoint);
    }

    #[test]
    fn reply_flag_is_known_only_with_conntrack_or_verdicts() {
        let mut e = ev(kind::DROP, 134);
        assert_eq!(decode_is_reply(&e), None);
        e.ct_state = state::NEW;
        assert_eq!(decode_is_reply(&e), Some(false));
        e.ct_state = state::REPLY;
        assert_eq!(decode_is_reply(&e), Some(true));
        let flagged = FlowEvent {
            flags: event_flags::IS_REPLY,
            ..ev(kind::TRACE, 0)
        };
        assert_eq!(decode_is_reply(&flagged), Some(true));
        assert_eq!(decode_is_reply(&ev(kind::POLICY_VERDICT, 0)), Some(false));
    }

    #[test]
    fn replies_flip_the_direction() {
        let e = FlowEvent {
            direction: EGRESS,
            ..ev(kind::TRACE, obs_point::FROM_ENDPOINT)
        };
        assert_eq!(
            decode_traffic_direction(&e, Some(false)),
            TrafficDirection::Egress
        );
        assert_eq!(
            decode_traffic_direction(&e, Some(true)),
            TrafficDirection::Ingress
        );
        let i = FlowEvent {
            direction: INGRESS,
            ..e
        };
        assert_eq!(
            decode_traffic_direction(&i, None),
            TrafficDirection::Ingress
        );
        let junk = FlowEvent { direction: 9, ..e };
        assert_eq!(
            decode_traffic_direction(&junk, Some(true)),
            TrafficDirection::Unknown
        );
    }
}
