//! Which policies took part in a verdict: Hubble's `*_allowed_by` / `*_denied_by`, and our
//! `attribution`, which also explains default denies.
//!
//! - An allowed flow names the rules behind its rule cookie (the policy entry that
//!   admitted the connection).
//! - An explicit deny (181) names the deny rules behind its cookie.
//! - A default deny (133) has no rule to name (nothing matched); it names the policies
//!   that select the endpoint in that direction, none of which allows the peer.
//! - An audit (what a policy in audit mode would drop, and lets pass) is attributed as the
//!   deny it would be: the deny rules behind its cookie, or for a default deny the
//!   policies selecting the endpoint with those in audit mode.

use std::sync::Arc;

use observe_proto::flow::{
    Attribution, DropReason, Flow, Policy, PolicyRule, PolicyVerdictKind, TrafficDirection, Verdict,
};
use probe_common::drop_reason;
use probe_common::event::{FlowEvent, kind, verdict};

use crate::getters::{PolicyGetter, PolicyInfo, RuleInfo};

/// What the policy getter said about one event: how policy decided, the rules behind its
/// cookie, and for a default deny the policies selecting the endpoint.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PolicyAnswers {
    kind: Option<PolicyVerdictKind>,
    rules: Arc<[RuleInfo]>,
    selecting: Box<[PolicyInfo]>,
}

impl PolicyAnswers {
    /// Whether the event is about a policy decision (its flow then carries attribution).
    pub(super) fn decided(&self) -> bool {
        self.kind.is_some()
    }

    /// Whether policy decided a default deny (what DNS names can explain).
    pub(super) fn is_default_deny(&self) -> bool {
        self.kind == Some(PolicyVerdictKind::DefaultDeny)
    }
}

/// Asks `policies` what [`decode_policy`] needs for an event with this verdict, drop
/// reason and traffic direction.
pub(super) fn look_up_policy(
    ev: &FlowEvent,
    verdict: Verdict,
    reason: DropReason,
    direction: TrafficDirection,
    policies: &dyn PolicyGetter,
) -> PolicyAnswers {
    let kind = verdict_kind(ev, verdict, reason);
    let none = || Arc::from([]);
    let endpoint = u32::from(ev.endpoint_id);
    let (rules, selecting) = match kind {
        None => (none(), Vec::new()),
        Some(PolicyVerdictKind::DefaultDeny) if is_audit(ev) => {
            (none(), policies.auditing_policies(endpoint, direction))
        }
        Some(PolicyVerdictKind::DefaultDeny) => {
            (none(), policies.selecting_policies(endpoint, direction))
        }
        Some(_) if ev.cookie == 0 => (none(), Vec::new()),
        Some(_) => (policies.rules_by_cookie(ev.cookie), Vec::new()),
    };
    PolicyAnswers {
        kind,
        rules,
        selecting: selecting.into(),
    }
}

/// Fills the allowed-by/denied-by lists and the attribution of `flow`, whose traffic
/// direction is already decoded, from what [`look_up_policy`] found.
pub(super) fn decode_policy(flow: &mut Flow, answers: &PolicyAnswers) {
    let direction = flow.traffic_direction();
    let Some(kind) = answers.kind else {
        return;
    };
    let named = distinct_policies(&answers.rules);
    match (kind, direction) {
        (PolicyVerdictKind::Allowed, TrafficDirection::Ingress) => flow.ingress_allowed_by = named,
        (PolicyVerdictKind::Allowed, TrafficDirection::Egress) => flow.egress_allowed_by = named,
        (PolicyVerdictKind::ExplicitDeny, TrafficDirection::Ingress) => {
            flow.ingress_denied_by = named
        }
        (PolicyVerdictKind::ExplicitDeny, TrafficDirection::Egress) => {
            flow.egress_denied_by = named
        }
        _ => {}
    }
    flow.attribution = Some(Attribution {
        kind: kind.into(),
        direction: direction.into(),
        rules: answers.rules.iter().map(policy_rule).collect(),
        selecting_policies: answers.selecting.iter().map(policy).collect(),
        closest_rule: None,
        fqdn_history: None,
        l7_rule: String::new(),
    });
}

/// How policy decided, or `None` when the event is not about a policy decision (a
/// forwarded packet without a cookie, or a drop for another reason).
fn verdict_kind(ev: &FlowEvent, verdict: Verdict, reason: DropReason) -> Option<PolicyVerdictKind> {
    if is_audit(ev) {
        return Some(if ev.reason == drop_reason::POLICY_DENY {
            PolicyVerdictKind::ExplicitDeny
        } else {
            PolicyVerdictKind::DefaultDeny
        });
    }
    match (verdict, reason) {
        (Verdict::Dropped, DropReason::PolicyDenied) => Some(PolicyVerdictKind::DefaultDeny),
        (Verdict::Dropped, DropReason::PolicyDeny) => Some(PolicyVerdictKind::ExplicitDeny),
        (Verdict::Dropped, _) => None,
        // A policy verdict always reports a decision; a trace only when an entry matched.
        _ if ev.kind == kind::POLICY_VERDICT || ev.cookie != 0 => Some(PolicyVerdictKind::Allowed),
        _ => None,
    }
}

/// Whether `ev` is an audited policy verdict (audit mode).
fn is_audit(ev: &FlowEvent) -> bool {
    ev.kind == kind::POLICY_VERDICT && ev.verdict == verdict::AUDIT
}

/// The policies of `rules`, each once, in a stable order (sorted). A sorted, deduplicated
/// vector rather than a set: there are one or two rules behind most cookies.
fn distinct_policies(rules: &[RuleInfo]) -> Vec<Policy> {
    let mut unique: Vec<&PolicyInfo> = rules.iter().map(|r| &r.policy).collect();
    unique.sort_unstable();
    unique.dedup();
    unique.into_iter().map(policy).collect()
}

/// Hubble's `Policy`, with the labels Cilium puts on rules derived from a policy object.
pub(crate) fn policy(info: &PolicyInfo) -> Policy {
    // Concatenated, not formatted: every allowed flow names its policies this way.
    let mut labels = Vec::with_capacity(3);
    labels.push(["k8s:io.cilium.k8s.policy.derived-from=", &info.kind].concat());
    labels.push(["k8s:io.cilium.k8s.policy.name=", &info.name].concat());
    if !info.namespace.is_empty() {
        labels.push(["k8s:io.cilium.k8s.policy.namespace=", &info.namespace].concat());
    }
    Policy {
        name: info.name.clone(),
        namespace: info.namespace.clone(),
        labels,
        revision: info.revision,
        kind: info.kind.clone(),
    }
}

pub(crate) fn policy_rule(rule: &RuleInfo) -> PolicyRule {
    PolicyRule {
        kind: rule.policy.kind.clone(),
        namespace: rule.policy.namespace.clone(),
        name: rule.policy.name.clone(),
        path: rule.path.clone(),
    }
}

/// The attribution of a request an L7 proxy denied (a refused DNS query, an HTTP 403):
/// the policies selecting endpoint `endpoint_id` in `direction` (with the closest rule's,
/// once, whatever revision each side read it at), the closest rule, and the L7 rule text.
pub(super) fn l7_denial(
    policies: &dyn PolicyGetter,
    endpoint_id: u32,
    direction: TrafficDirection,
    closest: Option<&RuleInfo>,
    l7_rule: String,
) -> Attribution {
    let mut selecting: Vec<PolicyInfo> = policies.selecting_policies(endpoint_id, direction);
    let same = |a: &PolicyInfo, b: &PolicyInfo| {
        (&a.kind, &a.namespace, &a.name) == (&b.kind, &b.namespace, &b.name)
    };
    if let Some(closest) = closest
        && !selecting.iter().any(|p| same(p, &closest.policy))
    {
        selecting.push(closest.policy.clone());
    }
    Attribution {
        kind: PolicyVerdictKind::DefaultDeny.into(),
        direction: direction.into(),
        selecting_policies: selecting.iter().map(policy).collect(),
        closest_rule: closest.map(policy_rule),
        l7_rule,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::getters::{FakePolicyGetter, NoopPolicyGetter};

    fn info(name: &str) -> PolicyInfo {
        PolicyInfo {
            kind: "CiliumNetworkPolicy".into(),
            namespace: "default".into(),
            name: name.into(),
            revision: 3,
        }
    }

    fn rule(name: &str, path: &str) -> RuleInfo {
        RuleInfo {
            policy: info(name),
            path: path.into(),
        }
    }

    fn flow(verdict: Verdict, reason: DropReason, direction: TrafficDirection) -> Flow {
        Flow {
            verdict: verdict.into(),
            drop_reason_desc: reason.into(),
            traffic_direction: direction.into(),
            ..Default::default()
        }
    }

    /// Looks up and decodes the policy fields of `f` as the decoder does.
    fn decode_policy(ev: &FlowEvent, f: &mut Flow, policies: &dyn PolicyGetter) {
        let answers = look_up_policy(
            ev,
            f.verdict(),
            f.drop_reason_desc(),
            f.traffic_direction(),
            policies,
        );
        super::decode_policy(f, &answers);
    }

    fn getter() -> FakePolicyGetter {
        FakePolicyGetter {
            on_rules_by_cookie: Some(Box::new(|cookie| match cookie {
                7 => vec![
                    rule("allow-web", "spec.ingress[0]"),
                    rule("allow-web", "spec.ingress[1]"),
                ],
                9 => vec![rule("deny-db", "spec.egressDeny[0]")],
                _ => vec![],
            })),
            on_auditing_policies: Some(Box::new(|_| Vec::new())),
            on_selecting_policies: Some(Box::new(|(ep, dir)| {
                assert_eq!((ep, dir), (12, TrafficDirection::Ingress));
                vec![info("db-ingress")]
            })),
        }
    }

    #[test]
    fn allowed_flows_name_each_policy_once() {
        let ev = FlowEvent {
            kind: kind::TRACE,
            cookie: 7,
            ..FlowEvent::default()
        };
        let mut f = flow(
            Verdict::Forwarded,
            DropReason::Unknown,
            TrafficDirection::Ingress,
        );
        decode_policy(&ev, &mut f, &getter());
        assert_eq!(f.ingress_allowed_by.len(), 1);
        assert_eq!(
            f.ingress_allowed_by[0].labels[0],
            "k8s:io.cilium.k8s.policy.derived-from=CiliumNetworkPolicy"
        );
        let attribution = f.attribution.unwrap();
        assert_eq!(attribution.kind(), PolicyVerdictKind::Allowed);
        assert_eq!(attribution.rules.len(), 2);
    }

    #[test]
    fn distinct_policies_are_named_once_each_in_sorted_order() {
        let rules = [
            rule("zeta", "spec.ingress[0]"),
            rule("alpha", "spec.ingress[1]"),
            rule("zeta", "spec.ingress[2]"),
        ];
        let names: Vec<_> = distinct_policies(&rules)
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["alpha", "zeta"]);
    }

    #[test]
    fn explicit_denies_name_the_deny_rules() {
        let ev = FlowEvent {
            kind: kind::DROP,
            cookie: 9,
            ..FlowEvent::default()
        };
        let mut f = flow(
            Verdict::Dropped,
            DropReason::PolicyDeny,
            TrafficDirection::Egress,
        );
        decode_policy(&ev, &mut f, &getter());
        assert_eq!(f.egress_denied_by[0].name, "deny-db");
        let attribution = f.attribution.unwrap();
        assert_eq!(attribution.kind(), PolicyVerdictKind::ExplicitDeny);
        assert_eq!(attribution.rules[0].path, "spec.egressDeny[0]");
    }

    #[test]
    fn default_denies_name_the_selecting_policies() {
        let ev = FlowEvent {
            kind: kind::DROP,
            endpoint_id: 12,
            ..FlowEvent::default()
        };
        let mut f = flow(
            Verdict::Dropped,
            DropReason::PolicyDenied,
            TrafficDirection::Ingress,
        );
        decode_policy(&ev, &mut f, &getter());
        assert!(
            f.ingress_denied_by.is_empty(),
            "Hubble leaves denied_by empty for 133"
        );
        let attribution = f.attribution.unwrap();
        assert_eq!(attribution.kind(), PolicyVerdictKind::DefaultDeny);
        assert_eq!(attribution.selecting_policies[0].name, "db-ingress");
    }

    #[test]
    fn other_drops_and_untagged_traces_have_no_attribution() {
        let ev = FlowEvent {
            kind: kind::DROP,
            cookie: 9,
            ..FlowEvent::default()
        };
        let mut f = flow(
            Verdict::Dropped,
            DropReason::InvalidPacketDropped,
            TrafficDirection::Ingress,
        );
        decode_policy(&ev, &mut f, &NoopPolicyGetter);
        assert_eq!(f.attribution, None);
        let trace = FlowEvent {
            kind: kind::TRACE,
            ..FlowEvent::default()
        };
        let mut t = flow(
            Verdict::Forwarded,
            DropReason::Unknown,
            TrafficDirection::Ingress,
        );
        decode_policy(&trace, &mut t, &NoopPolicyGetter);
        assert_eq!(t.attribution, None);
    }
}
