//! `cilium.io/v2` CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy: `spec` and/or
//! `specs` rules, validated like Cilium's `Rule.Sanitize` and translated like
//! `ParseToCiliumRule` (namespace injection, requirement folding inputs, entity and node
//! peers).

mod dns;
mod l7;
mod ports;
mod rule;
mod section;
mod services;

pub use section::read_cidr;

use super::cursor::MapCursor;
use super::meta::{policy_origin, read_audit_mode, read_meta};
use crate::policy::model::Policy;
use crate::policy::origin::PolicyKind;

/// Reads a CNP (`clusterwide = false`) or CCNP. The rules are read even when `metadata`
/// is invalid, so every error is reported.
pub fn read_policy(doc: &MapCursor<'_>, clusterwide: bool) -> Option<Policy> {
    let meta = read_meta(doc, !clusterwide);
    let kind = if clusterwide {
        PolicyKind::CiliumClusterwideNetworkPolicy
    } else {
        PolicyKind::CiliumNetworkPolicy
    };
    let origin = policy_origin(doc, kind, meta.as_ref());
    let ctx = rule::RuleContext {
        origin: origin.clone(),
        namespace: origin.namespace.clone(),
        clusterwide,
    };
    let mut rules = Vec::new();
    let mut ok = meta.is_some();
    if let Some(spec) = doc.get("spec") {
        match rule::read_rule(&spec, &ctx) {
            Some(r) => rules.push(r),
            None => ok = false,
        }
    }
    if let Some(specs) = doc.get("specs") {
        let items = specs.seq();
        ok &= items.is_some();
        for s in items.unwrap_or_default() {
            match rule::read_rule(&s, &ctx) {
                Some(r) => rules.push(r),
                None => ok = false,
            }
        }
    }
    misplaced_description(doc);
    doc.ignore(&["status"]);
    if ok && rules.is_empty() {
        doc.cursor().error(format!(
            "{kind} must have \"spec\" or a non-empty \"specs\""
        ));
        return None;
    }
    let audit = read_audit_mode(doc);
    (ok && audit.is_some()).then_some(Policy {
        origin,
        rules,
        audit: audit == Some(true),
    })
}

/// A `description` next to `spec` (as some of Cilium's own examples write it) is not part
/// of the object: the API server prunes it, as kubectl warns. Say so, and where it belongs.
fn misplaced_description(doc: &MapCursor<'_>) {
    if doc.has("description")
        && let Some(d) = doc.get("description")
    {
        d.warn(
            "not part of the object (the API server drops it): a policy's description \
             belongs under spec, as spec.description (or specs[].description)",
        );
    }
}
