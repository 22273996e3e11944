//! The staged verdict of a policy-verdict event (`observe policy stage`): asked of the
//! [`StagedGetter`] when the event arrives, so the flow tells what the staged set said of
//! the connection then, and built into the flow's `staged` field when it is read.
//!
//! Only new connections get one, each once per side: policy-verdict events (the datapath
//! reports one wherever policy decides), and where no policy is enforced, the trace event
//! of the connection's first packet (with the agent's `--trace new`). The staged set
//! decides the same side as the event (the endpoint's policy in the event's direction,
//! with the peer's identity, protocol and port).

use observe_proto::flow::{Attribution, StagedVerdict, TrafficDirection};
use probe_common::conntrack::state;
use probe_common::direction;
use probe_common::event::{FlowEvent, event_flags, kind};

use super::policy::{policy, policy_rule};
use crate::getters::{StagedAnswer, StagedGetter, StagedQuery};

const ICMP: u8 = 1;
const ICMPV6: u8 = 58;

/// What the staged set decides for `ev`, when `ev` is a policy verdict and a set is staged.
pub(super) fn look_up_staged(
    ev: &FlowEvent,
    staged: &dyn StagedGetter,
) -> Option<Box<StagedAnswer>> {
    let query = query(ev)?;
    staged.staged(&query).map(Box::new)
}

/// The question a policy-verdict event asks of the staged set.
fn query(ev: &FlowEvent) -> Option<StagedQuery> {
    let unenforced_new = ev.kind == kind::TRACE
        && ev.ct_state == state::NEW
        && ev.flags & (event_flags::ENFORCED | event_flags::IS_REPLY) == 0;
    if (ev.kind != kind::POLICY_VERDICT && !unenforced_new) || ev.endpoint_id == 0 {
        return None;
    }
    let (direction, peer_identity) = match ev.direction {
        direction::INGRESS => (TrafficDirection::Ingress, ev.src_identity),
        direction::EGRESS => (TrafficDirection::Egress, ev.dst_identity),
        _ => return None,
    };
    let port = match ev.protocol {
        ICMP | ICMPV6 => u16::from(ev.icmp_type),
        _ => ev.dport,
    };
    Some(StagedQuery {
        endpoint_id: u32::from(ev.endpoint_id),
        direction,
        peer_identity,
        protocol: ev.protocol,
        port,
    })
}

/// The flow's `staged` field from the answer, for a flow whose policy decided in `dir`.
pub(super) fn decode_staged(answer: &StagedAnswer, dir: TrafficDirection) -> StagedVerdict {
    StagedVerdict {
        verdict: answer.verdict.into(),
        drop_reason: u32::from(answer.drop_reason),
        attribution: Some(Attribution {
            kind: answer.kind.into(),
            direction: dir.into(),
            rules: answer.rules.iter().map(policy_rule).collect(),
            selecting_policies: answer.selecting.iter().map(policy).collect(),
            ..Attribution::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use observe_proto::flow::{PolicyVerdictKind, Verdict};
    use probe_common::event::verdict;

    use super::*;
    use crate::getters::{PolicyInfo, RuleInfo};

    struct Recorder(std::sync::Mutex<Vec<StagedQuery>>);

    impl StagedGetter for Recorder {
        fn staged(&self, query: &StagedQuery) -> Option<StagedAnswer> {
            self.0.lock().unwrap().push(*query);
            Some(StagedAnswer {
                verdict: Verdict::Dropped,
                drop_reason: 181,
                kind: PolicyVerdictKind::ExplicitDeny,
                rules: vec![RuleInfo {
                    policy: PolicyInfo {
                        kind: "CiliumNetworkPolicy".into(),
                        namespace: "e2e".into(),
                        name: "staged".into(),
                        revision: 0,
                    },
                    path: "spec.ingressDeny[0]".into(),
                }],
                selecting: Vec::new(),
            })
        }
    }

    fn verdict_event(dir: u8, protocol: u8) -> FlowEvent {
        FlowEvent {
            kind: kind::POLICY_VERDICT,
            verdict: verdict::ALLOWED,
            direction: dir,
            protocol,
            endpoint_id: 7,
            src_identity: 1000,
            dst_identity: 2000,
            dport: 8080,
            icmp_type: 8,
            ..FlowEvent::default()
        }
    }

    #[test]
    fn a_policy_verdict_asks_about_its_own_side_and_peer() {
        let r = Recorder(std::sync::Mutex::new(Vec::new()));
        look_up_staged(&verdict_event(direction::INGRESS, 6), &r).expect("an answer");
        look_up_staged(&verdict_event(direction::EGRESS, ICMP), &r).expect("an answer");
        let asked = r.0.lock().unwrap().clone();
        assert_eq!(
            asked,
            [
                StagedQuery {
                    endpoint_id: 7,
                    direction: TrafficDirection::Ingress,
                    peer_identity: 1000,
                    protocol: 6,
                    port: 8080,
                },
                StagedQuery {
                    endpoint_id: 7,
                    direction: TrafficDirection::Egress,
                    peer_identity: 2000,
                    protocol: ICMP,
                    port: 8,
                },
            ]
        );
    }

    #[test]
    fn only_new_connections_of_endpoints_are_asked_once_per_side() {
        let r = Recorder(std::sync::Mutex::new(Vec::new()));
        let first_packet = |flags| FlowEvent {
            kind: kind::TRACE,
            ct_state: state::NEW,
            flags,
            ..verdict_event(direction::INGRESS, 6)
        };
        // Where no policy is enforced, the first packet's trace is the connection's event.
        assert!(look_up_staged(&first_packet(0), &r).is_some());
        // Where one is, the policy verdict is (its trace would ask twice).
        assert!(look_up_staged(&first_packet(event_flags::ENFORCED), &r).is_none());
        assert!(look_up_staged(&first_packet(event_flags::IS_REPLY), &r).is_none());
        let trace = FlowEvent {
            kind: kind::TRACE,
            ct_state: state::ESTABLISHED,
            ..verdict_event(direction::INGRESS, 6)
        };
        let no_endpoint = FlowEvent {
            endpoint_id: 0,
            ..verdict_event(direction::INGRESS, 6)
        };
        assert!(look_up_staged(&trace, &r).is_none());
        assert!(look_up_staged(&no_endpoint, &r).is_none());
        assert_eq!(r.0.lock().unwrap().len(), 1);
    }

    #[test]
    fn the_answer_becomes_the_flows_staged_verdict() {
        let r = Recorder(std::sync::Mutex::new(Vec::new()));
        let answer = look_up_staged(&verdict_event(direction::INGRESS, 6), &r).unwrap();
        let staged = decode_staged(&answer, TrafficDirection::Ingress);
        assert_eq!(staged.verdict(), Verdict::Dropped);
        assert_eq!(staged.drop_reason, 181);
        let a = staged.attribution.expect("attribution");
        assert_eq!(a.kind(), PolicyVerdictKind::ExplicitDeny);
        assert_eq!(a.rules[0].path, "spec.ingressDeny[0]");
        assert_eq!(a.rules[0].name, "staged");
    }
}
