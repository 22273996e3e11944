//! How policy decided a flow: the one classifier behind every client's policy wording, the
//! CLI's `by ...` drop attribution ([`crate::attribution`]) and the dashboard's POLICY
//! column and explanation ([`crate::policy`]), so the two never name different decisions.
//!
//! The agent's `attribution` says it directly. A flow without one (from Hubble or an older
//! agent), or whose attribution does not name its kind, is classified from what it
//! carries, in this order:
//!
//! 1. a drop's reason: 133 POLICY_DENIED is a default deny (no rule allowed it), 181
//!    POLICY_DENY an explicit deny (a deny rule matched);
//! 2. Hubble's lists: a policy in `*_denied_by` is an explicit deny, one in `*_allowed_by`
//!    an allow.
//!
//! Anything else is [`PolicyVerdictKind::Unknown`]: no policy decision is recorded (a drop
//! for another reason, or an established connection).

use observe_proto::flow::{Attribution, DropReason, Flow, PolicyVerdictKind, TrafficDirection};

use crate::drop_reason::drop_code;
use crate::verdict::is_drop;

/// How policy decided `flow`.
pub fn classify(flow: &Flow) -> PolicyVerdictKind {
    let attributed = flow
        .attribution
        .as_ref()
        .map(Attribution::kind)
        .filter(|k| *k != PolicyVerdictKind::Unknown);
    attributed
        .or_else(|| from_drop_reason(flow))
        .unwrap_or_else(|| from_hubble_lists(flow))
}

/// The direction whose policy decided: the attribution's, else the flow's.
pub fn direction(flow: &Flow) -> TrafficDirection {
    flow.attribution
        .as_ref()
        .map(Attribution::direction)
        .filter(|d| *d != TrafficDirection::Unknown)
        .unwrap_or(flow.traffic_direction())
}

/// 133 is a default deny, 181 an explicit one; other drops and other verdicts say nothing.
fn from_drop_reason(flow: &Flow) -> Option<PolicyVerdictKind> {
    if !is_drop(flow) {
        return None;
    }
    match drop_code(flow) {
        c if c == DropReason::PolicyDenied as u32 => Some(PolicyVerdictKind::DefaultDeny),
        c if c == DropReason::PolicyDeny as u32 => Some(PolicyVerdictKind::ExplicitDeny),
        _ => None,
    }
}

fn from_hubble_lists(flow: &Flow) -> PolicyVerdictKind {
    if !flow.ingress_denied_by.is_empty() || !flow.egress_denied_by.is_empty() {
        PolicyVerdictKind::ExplicitDeny
    } else if !flow.ingress_allowed_by.is_empty() || !flow.egress_allowed_by.is_empty() {
        PolicyVerdictKind::Allowed
    } else {
        PolicyVerdictKind::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{attribution, policy};
    use observe_proto::flow::{Policy, Verdict};

    fn dropped(reason: Option<DropReason>) -> Flow {
        Flow {
            verdict: Verdict::Dropped.into(),
            drop_reason_desc: reason.map_or(0, i32::from),
            traffic_direction: TrafficDirection::Ingress.into(),
            ..Default::default()
        }
    }

    fn deny_all() -> Vec<Policy> {
        vec![Policy {
            kind: "CiliumNetworkPolicy".into(),
            namespace: "shop".into(),
            name: "deny-all".into(),
            ..Default::default()
        }]
    }

    /// Bug 10: the CLI fell back on the drop reason, the TUI on Hubble's lists, so a Hubble
    /// default deny had no policy in the TUI and a listed deny none in the CLI.
    #[test]
    fn the_cli_and_the_tui_name_the_same_policy_decision_whatever_the_flow_carries() {
        // A Hubble flow: reason 133, nothing else.
        let hubble_default_deny = dropped(Some(DropReason::PolicyDenied));
        // A deny named only by Hubble's list, without a drop reason.
        let listed_deny = Flow {
            ingress_denied_by: deny_all(),
            ..dropped(None)
        };
        // An attribution that does not say its kind, on a 181 drop.
        let kindless_attribution = Flow {
            attribution: Some(Attribution {
                kind: PolicyVerdictKind::Unknown.into(),
                ..Default::default()
            }),
            ingress_denied_by: deny_all(),
            ..dropped(Some(DropReason::PolicyDeny))
        };
        let cases = [
            (
                &hubble_default_deny,
                PolicyVerdictKind::DefaultDeny,
                "by default deny on ingress (selecting policies unknown)",
                "default deny",
                "Default deny at the ingress of ",
            ),
            (
                &listed_deny,
                PolicyVerdictKind::ExplicitDeny,
                "by CiliumNetworkPolicy shop/deny-all",
                "deny shop/deny-all",
                "Denied at the ingress of ",
            ),
            (
                &kindless_attribution,
                PolicyVerdictKind::ExplicitDeny,
                "by CiliumNetworkPolicy shop/deny-all",
                "deny shop/deny-all",
                "Denied at the ingress of ",
            ),
        ];
        for (flow, kind, cli, tui, headline) in cases {
            assert_eq!(classify(flow), kind, "{cli}");
            assert_eq!(attribution::drop_attribution(flow).as_deref(), Some(cli));
            assert_eq!(policy::summary(flow), tui);
            let explained = policy::explain(flow).headline;
            assert!(explained.starts_with(headline), "{explained}");
        }
    }

    #[test]
    fn the_attribution_wins_and_other_drops_are_no_policy_decision() {
        let mut f = dropped(Some(DropReason::PolicyDenied));
        f.attribution = Some(Attribution {
            kind: PolicyVerdictKind::ExplicitDeny.into(),
            direction: TrafficDirection::Egress.into(),
            ..Default::default()
        });
        assert_eq!(classify(&f), PolicyVerdictKind::ExplicitDeny);
        assert_eq!(direction(&f), TrafficDirection::Egress);
        let stale = dropped(Some(DropReason::StaleOrUnroutableIp));
        assert_eq!(classify(&stale), PolicyVerdictKind::Unknown);
        assert_eq!(direction(&stale), TrafficDirection::Ingress);
        let allowed = Flow {
            verdict: Verdict::Forwarded.into(),
            egress_allowed_by: deny_all(),
            ..Default::default()
        };
        assert_eq!(classify(&allowed), PolicyVerdictKind::Allowed);
    }
}
