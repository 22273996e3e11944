//! Staged policies (`observe policy stage`): a candidate set of policies kept beside the
//! enforced ones, in a copy of the engine with them applied on top, never written to the
//! datapath. Every new connection the datapath reports is decided by that copy too (the
//! snapshot answers [`StagedGetter`](crate::getters::StagedGetter) with [`answer`]), so
//! its flow carries what the staged set would do. The copy is rebuilt whenever the live
//! engine changes; promoting applies the set as `observe apply` would.

use enforcer::engine::{Engine, ObjectKey};
use enforcer::manifest::Object;
use enforcer::mapstate::{DirectionPolicy, L7Kind, Lookup, Verdict as MapVerdict};
use observe_proto::flow::{PolicyVerdictKind, TrafficDirection, Verdict};

use super::snapshot::{policy_info, rule_info};
use crate::getters::{RuleInfo, StagedAnswer, StagedQuery};

/// The staged set and the engine with it applied.
pub struct Staged {
    objects: Vec<Object>,
    engine: Engine,
}

impl Staged {
    /// Stages `objects` (policies only) on top of `live`.
    pub fn new(live: &Engine, objects: Vec<Object>) -> Result<Self, String> {
        if let Some(o) = objects.iter().find(|o| !matches!(o, Object::Policy(_))) {
            return Err(format!(
                "only policies can be staged, not {}",
                ObjectKey::of(o)
            ));
        }
        if objects.is_empty() {
            return Err("no policies to stage".into());
        }
        let engine = on_top(live, &objects)?;
        Ok(Self { objects, engine })
    }

    /// Rebuilds the engine on a changed `live` one. Should the set no longer apply (a
    /// conflict with what was applied since), the previous copy stays, with a warning.
    pub fn rebase(&mut self, live: &Engine) {
        match on_top(live, &self.objects) {
            Ok(engine) => self.engine = engine,
            Err(e) => tracing::warn!("the staged policies no longer apply: {e}"),
        }
    }

    /// The engine with the staged set applied.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The staged policies' keys (`CiliumNetworkPolicy e2e/x`).
    pub fn keys(&self) -> Vec<String> {
        self.objects
            .iter()
            .map(|o| ObjectKey::of(o).to_string())
            .collect()
    }

    /// The staged policies, to promote.
    pub fn into_objects(self) -> Vec<Object> {
        self.objects
    }
}

fn on_top(live: &Engine, objects: &[Object]) -> Result<Engine, String> {
    let mut engine = live.clone();
    engine
        .apply(objects.iter().cloned())
        .map_err(|e| e.to_string())?;
    Ok(engine)
}

/// What the staged `policy` of an endpoint (in `query`'s direction) decides for `query`,
/// as the datapath would: the verdict, the drop reason and the rules behind it.
pub fn answer(policy: &DirectionPolicy, query: &StagedQuery) -> StagedAnswer {
    let (identity, protocol, port) = (query.peer_identity, query.protocol, query.port);
    let (decided, audit) = policy.decide_audited(identity, protocol, port);
    if let Some(audit) = audit {
        return StagedAnswer {
            verdict: Verdict::Audit,
            ..denial(policy.audit.as_deref().unwrap_or(policy), &audit)
        };
    }
    if !decided.verdict.is_allowed() {
        return denial(policy, &decided);
    }
    let l7 = decided.entry.map_or(L7Kind::None, |(_, v)| v.l7);
    // A DNS rule only steers what the endpoint sends (as the datapath's redirect).
    let redirected = match l7 {
        L7Kind::None => false,
        L7Kind::Http => true,
        L7Kind::Dns => query.direction == TrafficDirection::Egress,
    };
    StagedAnswer {
        verdict: if redirected {
            Verdict::Redirected
        } else {
            Verdict::Forwarded
        },
        drop_reason: 0,
        kind: PolicyVerdictKind::Allowed,
        rules: rules_of(&decided),
        selecting: Vec::new(),
    }
}

/// A drop by `lookup` of `policy`: the deny rules, or the selecting policies.
fn denial(policy: &DirectionPolicy, lookup: &Lookup<'_>) -> StagedAnswer {
    let explicit = lookup.verdict == MapVerdict::Denied;
    StagedAnswer {
        verdict: Verdict::Dropped,
        drop_reason: lookup.verdict.drop_reason().unwrap_or(0),
        kind: if explicit {
            PolicyVerdictKind::ExplicitDeny
        } else {
            PolicyVerdictKind::DefaultDeny
        },
        rules: rules_of(lookup),
        selecting: if explicit {
            Vec::new()
        } else {
            policy.selecting.iter().map(|p| policy_info(p, 0)).collect()
        },
    }
}

fn rules_of(lookup: &Lookup<'_>) -> Vec<RuleInfo> {
    lookup
        .entry
        .map(|(_, v)| v.rules.iter().map(|r| rule_info(r, 0)).collect())
        .unwrap_or_default()
}
