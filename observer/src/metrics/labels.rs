//! Label values, computed the way Hubble's handlers compute them (so dashboards built on
//! Hubble's metrics work unchanged), and the bounded `policy` label of our extension.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use observe_proto::flow::{Flow, Policy, TrafficDirection, Verdict, layer4};

/// Hubble's `v1.FlowProtocol` for L3/L4 flows: the L4 protocol's name.
pub(crate) fn protocol(flow: &Flow) -> &'static str {
    match flow.l4.as_ref().and_then(|l4| l4.protocol.as_ref()) {
        Some(layer4::Protocol::Tcp(_)) => "TCP",
        Some(layer4::Protocol::Udp(_)) => "UDP",
        Some(layer4::Protocol::IcmPv4(_)) => "ICMPv4",
        Some(layer4::Protocol::IcmPv6(_)) => "ICMPv6",
        Some(layer4::Protocol::Sctp(_)) => "SCTP",
        Some(layer4::Protocol::Vrrp(_)) => "VRRP",
        Some(layer4::Protocol::Igmp(_)) => "IGMP",
        None => "Unknown L4",
    }
}

/// The verdict's enum name (`FORWARDED`), as Hubble's `Verdict.String()`.
pub(crate) fn verdict(flow: &Flow) -> &'static str {
    flow.verdict().as_str_name()
}

/// The traffic direction lowercased (`ingress`), as Hubble's policy handler.
pub(crate) fn direction(flow: &Flow) -> &'static str {
    match flow.traffic_direction() {
        TrafficDirection::Ingress => "ingress",
        TrafficDirection::Egress => "egress",
        TrafficDirection::Unknown => "traffic_direction_unknown",
    }
}

/// The policy match type lowercased (`l3-l4`), as Cilium's `PolicyMatchType.String()`.
pub(crate) fn match_type(flow: &Flow) -> &'static str {
    match flow.policy_match_type {
        0 => "none",
        1 => "l3-only",
        2 => "l3-l4",
        3 => "l4-only",
        4 => "all",
        5 => "l3-proto",
        6 => "proto-only",
        _ => "unknown",
    }
}

/// The verdict lowercased (`forwarded`), the `action` of policy verdicts.
pub(crate) fn action(flow: &Flow) -> &'static str {
    match flow.verdict() {
        Verdict::Unknown => "verdict_unknown",
        Verdict::Forwarded => "forwarded",
        Verdict::Dropped => "dropped",
        Verdict::Error => "error",
        Verdict::Audit => "audit",
        Verdict::Redirected => "redirected",
        Verdict::Traced => "traced",
        Verdict::Translated => "translated",
    }
}

/// The policies that decided `flow`, as `namespace/name` (or `name` for cluster-wide
/// ones), sorted and comma-joined: the matching rules' policies, or for a default deny
/// the policies selecting the endpoint. Empty when no policy took part.
pub(crate) fn policies(flow: &Flow) -> String {
    let mut names = BTreeSet::new();
    if let Some(a) = &flow.attribution {
        for rule in &a.rules {
            names.insert(qualified(&rule.namespace, &rule.name));
        }
        for policy in &a.selecting_policies {
            names.insert(qualified(&policy.namespace, &policy.name));
        }
    } else {
        let listed: [&[Policy]; 4] = [
            &flow.ingress_allowed_by,
            &flow.egress_allowed_by,
            &flow.ingress_denied_by,
            &flow.egress_denied_by,
        ];
        for policy in listed.into_iter().flatten() {
            names.insert(qualified(&policy.namespace, &policy.name));
        }
    }
    names.into_iter().collect::<Vec<_>>().join(",")
}

fn qualified(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

/// Bounds the distinct values of the `policy` label: the first `limit` values are kept,
/// later ones become `other`, so a cluster with thousands of policies cannot blow up the
/// series count (Hubble's metrics have no policy label for this very reason).
#[derive(Debug)]
pub(crate) struct PolicyLabels {
    known: HashMap<String, Arc<str>>,
    limit: usize,
    other: Arc<str>,
}

impl PolicyLabels {
    /// At most `limit` distinct values.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            known: HashMap::new(),
            limit,
            other: Arc::from("other"),
        }
    }

    /// The label value for `policies` (shared, so series keys do not copy strings).
    pub(crate) fn get(&mut self, policies: String) -> Arc<str> {
        if let Some(value) = self.known.get(&policies) {
            return Arc::clone(value);
        }
        if self.known.len() >= self.limit {
            return Arc::clone(&self.other);
        }
        let value: Arc<str> = Arc::from(policies.as_str());
        self.known.insert(policies, Arc::clone(&value));
        value
    }
}

#[cfg(test)]
mod tests {
    use observe_proto::flow::{Attribution, Layer4, PolicyRule, Tcp};

    use super::*;

    #[test]
    fn labels_follow_hubble() {
        let flow = Flow {
            l4: Some(Layer4 {
                protocol: Some(layer4::Protocol::Tcp(Tcp::default())),
            }),
            verdict: Verdict::Dropped.into(),
            traffic_direction: TrafficDirection::Ingress.into(),
            policy_match_type: 2,
            ..Flow::default()
        };
        assert_eq!(
            (
                protocol(&flow),
                verdict(&flow),
                direction(&flow),
                match_type(&flow),
                action(&flow)
            ),
            ("TCP", "DROPPED", "ingress", "l3-l4", "dropped")
        );
        assert_eq!(protocol(&Flow::default()), "Unknown L4");
    }

    #[test]
    fn policies_are_sorted_unique_and_bounded() {
        let rule = |ns: &str, name: &str| PolicyRule {
            namespace: ns.into(),
            name: name.into(),
            ..PolicyRule::default()
        };
        let flow = Flow {
            attribution: Some(Attribution {
                rules: vec![
                    rule("b", "y"),
                    rule("a", "x"),
                    rule("b", "y"),
                    rule("", "cw"),
                ],
                ..Attribution::default()
            }),
            ..Flow::default()
        };
        assert_eq!(policies(&flow), "a/x,b/y,cw");
        let mut labels = PolicyLabels::new(2);
        assert_eq!(&*labels.get("p1".into()), "p1");
        assert_eq!(&*labels.get("p2".into()), "p2");
        assert_eq!(&*labels.get("p3".into()), "other");
        assert_eq!(&*labels.get("p1".into()), "p1", "known values stay");
    }
}
