//! One Cilium `Rule` (a `spec` or `specs[i]`): subject, sections, default-deny switches.

use std::sync::Arc;

use super::section::{SectionKind, read_section};
use crate::manifest::cursor::Cursor;
use crate::manifest::selector::{KeyStyle, read_selector};
use crate::policy::Direction;
use crate::policy::model::{PeerRule, Rule, Subject};
use crate::policy::namespacing;
use crate::policy::origin::PolicyRef;

/// What every rule of a policy object shares.
pub struct RuleContext {
    /// The policy object.
    pub origin: Arc<PolicyRef>,
    /// Its namespace (empty for CCNP).
    pub namespace: String,
    /// Whether it is a CCNP.
    pub clusterwide: bool,
}

/// Reads and validates a rule.
pub fn read_rule(c: &Cursor<'_>, ctx: &RuleContext) -> Option<Rule> {
    let m = c.map()?;
    // Sections are read even when the subject is invalid, so every error is reported.
    let subject = read_subject(c, &m, ctx);
    let subject_sel = match &subject {
        Some(Subject::Endpoints(s) | Subject::Nodes(s)) => s.clone(),
        None => Default::default(),
    };
    let mut ok = true;
    let mut sections = |name: &str, kind: SectionKind| -> Vec<PeerRule> {
        let Some(list) = m.get(name) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in list.seq().unwrap_or_default() {
            match read_section(&item, kind, ctx, &subject_sel) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        out
    };
    let ingress = sections("ingress", SectionKind::allow(Direction::Ingress));
    let ingress_deny = sections("ingressDeny", SectionKind::deny(Direction::Ingress));
    let egress = sections("egress", SectionKind::allow(Direction::Egress));
    let egress_deny = sections("egressDeny", SectionKind::deny(Direction::Egress));
    if matches!(subject, Some(Subject::Nodes(_))) && !host_rule_without_l7(&m) {
        ok = false;
    }
    let (dd_ingress, dd_egress) = read_default_deny(&m);
    m.ignore(&["description", "labels", "log"]);
    m.finish();
    let (true, Some(subject)) = (ok, subject) else {
        return None;
    };
    let rule = Rule {
        path: c.path().to_string(),
        subject,
        default_deny_ingress: dd_ingress.unwrap_or(!ingress.is_empty() || !ingress_deny.is_empty()),
        default_deny_egress: dd_egress.unwrap_or(!egress.is_empty() || !egress_deny.is_empty()),
        ingress,
        ingress_deny,
        egress,
        egress_deny,
    };
    if !rule.has_ingress() && !rule.has_egress() {
        c.error("rule must have at least one of ingress, ingressDeny, egress, egressDeny (an empty list counts as none)");
        return None;
    }
    Some(rule)
}

fn read_subject(
    c: &Cursor<'_>,
    m: &crate::manifest::cursor::MapCursor<'_>,
    ctx: &RuleContext,
) -> Option<Subject> {
    match (m.get("endpointSelector"), m.get("nodeSelector")) {
        (Some(_), Some(_)) => {
            c.error("rule cannot have both endpointSelector and nodeSelector");
            None
        }
        (None, None) => {
            c.error("rule must have one of endpointSelector or nodeSelector");
            None
        }
        (Some(es), None) => {
            let sel = read_selector(&es, KeyStyle::Cilium)?;
            Some(Subject::Endpoints(namespacing::subject(
                sel,
                &ctx.namespace,
            )))
        }
        (None, Some(ns)) if !ctx.clusterwide => {
            ns.error("nodeSelector is only allowed in a CiliumClusterwideNetworkPolicy");
            None
        }
        (None, Some(ns)) => read_selector(&ns, KeyStyle::Cilium).map(Subject::Nodes),
    }
}

/// Host policies take no L7 rules (`toPorts[].rules`): the node's own traffic does not
/// go through the agent's proxies. Reports each one; returns whether there were none.
fn host_rule_without_l7(m: &crate::manifest::cursor::MapCursor<'_>) -> bool {
    let mut clean = true;
    for name in ["ingress", "ingressDeny", "egress", "egressDeny"] {
        let sections = m.get(name).and_then(|c| c.seq()).unwrap_or_default();
        for section in sections.iter().filter_map(|s| s.map()) {
            let ports = section
                .get("toPorts")
                .and_then(|c| c.seq())
                .unwrap_or_default();
            for rules in ports.iter().filter_map(|p| p.map()?.get("rules")) {
                rules.error(
                    "L7 rules are not supported in a host policy (nodeSelector): the node's \
                     own traffic does not go through the agent's DNS and HTTP proxies",
                );
                clean = false;
            }
        }
    }
    clean
}

fn read_default_deny(m: &crate::manifest::cursor::MapCursor<'_>) -> (Option<bool>, Option<bool>) {
    let Some(dd) = m.get("enableDefaultDeny") else {
        return (None, None);
    };
    let Some(dm) = dd.map() else {
        return (None, None);
    };
    let ingress = dm.get("ingress").and_then(|c| c.bool());
    let egress = dm.get("egress").and_then(|c| c.bool());
    dm.finish();
    (ingress, egress)
}
