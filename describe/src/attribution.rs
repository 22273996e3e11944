//! Which policy decided, in `observe flows`' grammar: the text every DROPPED line carries
//! (our addition), and Hubble's ` BY name (Kind)` for policy-verdict lines with
//! `--print-policy-names`.
//!
//! # Drop attribution (appended to the verdict of every policy drop)
//!
//! ```text
//! by <Kind> [<namespace>/]<name> <rule path>[, ...]       a deny rule matched (181)
//! by <Kind> [<namespace>/]<name>[, ...]                   the same, rule unknown (Hubble's *_denied_by)
//! by default deny on <ingress|egress> (selected by <Kind> [<namespace>/]<name>[, ...])
//!                                                         no rule allowed it (133): the
//!                                                         policies selecting the endpoint
//! by default deny on <direction> (selecting policies unknown)
//! by default deny on egress (selected by ...; closest rule <Kind> <name> <rule path>)
//!                                                         an L7 denial (a refused DNS
//!                                                         query): the rule that came
//!                                                         closest to allowing it
//! by default deny on egress (selected by ...; 203.0.113.11 was last seen for NAME at T, TTL expired at T2)
//!                                                         a drop to an address the DNS
//!                                                         proxy once learned
//!                                                         ([`crate::fqdn`])
//! ```
//!
//! For example:
//!
//! ```text
//! ... Policy denied by denylist DROPPED by CiliumNetworkPolicy shop/backend-ingress spec.ingressDeny[0] (TCP Flags: SYN)
//! ... Policy denied DROPPED by default deny on ingress (selected by NetworkPolicy shop/db-ingress) (TCP Flags: SYN)
//! ```
//!
//! `grep 'by default deny'` finds every default deny, `grep 'shop/db-ingress'` every
//! line a policy is named on. Drops for other reasons (a stale IP, a bad header) carry
//! no attribution: the TYPE column already names their reason.

use observe_proto::flow::{
    Attribution, Flow, Policy, PolicyRule, PolicyVerdictKind, TrafficDirection, Verdict,
};

use crate::decision;

/// The attribution of a policy drop (`by ...`), `None` for other flows. Which decision it
/// names is [`decision::classify`]'s, as everywhere else.
pub fn drop_attribution(flow: &Flow) -> Option<String> {
    if flow.verdict() != Verdict::Dropped {
        return None;
    }
    let attribution = flow.attribution.as_ref();
    let direction = decision::direction(flow);
    match decision::classify(flow) {
        PolicyVerdictKind::DefaultDeny => Some(default_deny(flow, attribution, direction)),
        PolicyVerdictKind::ExplicitDeny => Some(explicit_deny(flow, attribution, direction)),
        PolicyVerdictKind::Allowed | PolicyVerdictKind::Unknown => None,
    }
}

fn default_deny(
    flow: &Flow,
    attribution: Option<&Attribution>,
    direction: TrafficDirection,
) -> String {
    let mut out = String::from("by default deny");
    out.push_str(match direction {
        TrafficDirection::Ingress => " on ingress",
        TrafficDirection::Egress => " on egress",
        TrafficDirection::Unknown => "",
    });
    let selecting = attribution.map_or(&[][..], |a| a.selecting_policies.as_slice());
    if selecting.is_empty() {
        out.push_str(" (selecting policies unknown");
    } else {
        out.push_str(" (selected by ");
        list_into(&mut out, selecting, policy_into);
    }
    if let Some(closest) = attribution.and_then(|a| a.closest_rule.as_ref()) {
        out.push_str("; closest rule ");
        rule_into(&mut out, closest);
        let l7_rule = attribution.map_or("", |a| a.l7_rule.as_str());
        if !l7_rule.is_empty() {
            out.push_str(" (allows ");
            out.push_str(&crate::sanitize::cleaned(l7_rule));
            out.push(')');
        }
    }
    let destination = flow.ip.as_ref().map_or("", |ip| ip.destination.as_str());
    let history = attribution
        .and_then(|a| a.fqdn_history.as_ref())
        .and_then(|h| crate::fqdn::history_text(destination, h));
    if let Some(history) = history {
        out.push_str("; ");
        out.push_str(&history);
    }
    out.push(')');
    out
}

fn explicit_deny(
    flow: &Flow,
    attribution: Option<&Attribution>,
    direction: TrafficDirection,
) -> String {
    let mut out = String::from("by ");
    let rules = attribution.map_or(&[][..], |a| a.rules.as_slice());
    if !rules.is_empty() {
        list_into(&mut out, rules, rule_into);
        return out;
    }
    let denied = denied_by(flow, direction);
    if denied.is_empty() {
        return "by a deny rule (policy unknown)".into();
    }
    list_into(&mut out, &denied, |out, p| policy_into(out, p));
    out
}

/// The `*_denied_by` policies of `direction` (both when unknown).
fn denied_by(flow: &Flow, direction: TrafficDirection) -> Vec<&Policy> {
    let mut out = Vec::new();
    if direction != TrafficDirection::Egress {
        out.extend(&flow.ingress_denied_by);
    }
    if direction != TrafficDirection::Ingress {
        out.extend(&flow.egress_denied_by);
    }
    out
}

/// `items` written by `item`, separated by `, `.
pub(crate) fn list_into<T>(out: &mut String, items: &[T], item: impl Fn(&mut String, &T)) {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        item(out, x);
    }
}

/// `Kind namespace/name`, or `Kind name` for cluster-wide policies.
pub(crate) fn policy_into(out: &mut String, p: &Policy) {
    named_into(out, &p.kind, &p.namespace, &p.name);
}

/// A rule: its policy and where the rule sits in it.
pub(crate) fn rule_into(out: &mut String, r: &PolicyRule) {
    named_into(out, &r.kind, &r.namespace, &r.name);
    if !r.path.is_empty() {
        out.push(' ');
        out.push_str(&r.path);
    }
}

fn named_into(out: &mut String, kind: &str, namespace: &str, name: &str) {
    if !kind.is_empty() {
        out.push_str(kind);
        out.push(' ');
    }
    if !namespace.is_empty() {
        out.push_str(namespace);
        out.push('/');
    }
    out.push_str(name);
}

/// Hubble's `--print-policy-names` suffix for policy verdicts: ` BY name (Kind), ...`
/// from the allowing policies of the flow's direction (the denying ones for audits);
/// empty when none are known.
pub fn policy_names(flow: &Flow) -> String {
    let ingress = flow.traffic_direction() != TrafficDirection::Egress;
    let egress = flow.traffic_direction() != TrafficDirection::Ingress;
    let lists: [(bool, &Vec<Policy>); 4] = if flow.verdict() == Verdict::Audit {
        [
            (ingress, &flow.ingress_denied_by),
            (egress, &flow.egress_denied_by),
            (ingress, &flow.ingress_allowed_by),
            (egress, &flow.egress_allowed_by),
        ]
    } else {
        [
            (ingress, &flow.ingress_allowed_by),
            (egress, &flow.egress_allowed_by),
            (false, &flow.ingress_denied_by),
            (false, &flow.egress_denied_by),
        ]
    };
    let names: Vec<String> = lists
        .iter()
        .filter(|(on, _)| *on)
        .flat_map(|(_, list)| list.iter())
        .filter(|p| !p.kind.is_empty() && !p.name.is_empty())
        .map(|p| format!("{} ({})", p.name, p.kind))
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" BY {}", names.join(", "))
    }
}

#[cfg(test)]
mod tests;
