//! Rule hits: per policy rule, the connections it allowed and denied, from policy-verdict
//! events (one per new connection, so hits are connections, not packets), with the first
//! and last time. A default deny is counted on each policy that selected the endpoint,
//! under the path [`DEFAULT_DENY`]: it is what the policy did, though no rule matched.
//!
//! Kept since the agent started, at most [`MAX_RULES`] rules (a rule beyond that is
//! counted in [`RuleHits::overflow`], never silently dropped). `observe get policies
//! --hits` reads them with every rule the engine holds, so unused rules show as such; the
//! metrics page has them as `observerd_policy_rule_hits_total{policy,rule,action}`, whose
//! cardinality the cap bounds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use observe_proto::Timestamp;
use observe_proto::flow::{Flow, Policy, PolicyVerdictKind};

use crate::event::{DecodedEvent, EventView};
use crate::pipeline::OnDecodedFlow;

/// Rules counted at most.
pub const MAX_RULES: usize = 10_000;
/// The path default denies are counted under.
pub const DEFAULT_DENY: &str = "(default deny)";

const POLICY_VERDICT: i32 = probe_common::event::kind::POLICY_VERDICT as i32;
const POLICY_VERDICT_KIND: u8 = probe_common::event::kind::POLICY_VERDICT;

/// A rule: its policy (kind, namespace, name) and its path in the policy.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleKey {
    /// The policy's kind (`CiliumNetworkPolicy`, …).
    pub kind: String,
    /// Its namespace (empty for cluster-wide policies).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The rule's path (`spec.ingress[0]`), or [`DEFAULT_DENY`].
    pub path: String,
}

/// What one rule did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hits {
    /// Connections it allowed.
    pub allowed: u64,
    /// Connections it denied.
    pub denied: u64,
    /// The first and the last of them.
    pub first: Option<Timestamp>,
    /// See `first`.
    pub last: Option<Timestamp>,
}

/// The counts, shared by the pipeline's hook, the control API and the metrics page.
#[derive(Debug, Default)]
pub struct RuleHits {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    rules: BTreeMap<RuleKey, Hits>,
    overflow: u64,
}

impl RuleHits {
    /// No hits yet.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// The pipeline hook that counts.
    pub fn hook(self: &Arc<Self>) -> RuleHitsHook {
        RuleHitsHook(Arc::clone(self))
    }

    /// Every rule hit so far.
    pub fn snapshot(&self) -> BTreeMap<RuleKey, Hits> {
        self.lock().rules.clone()
    }

    /// Hits not counted because [`MAX_RULES`] rules were counted already.
    pub fn overflow(&self) -> u64 {
        self.lock().overflow
    }

    /// Counts one policy-verdict flow.
    pub fn count(&self, flow: &Flow) {
        if flow.event_type.as_ref().map(|e| e.r#type) != Some(POLICY_VERDICT) {
            return;
        }
        let Some(attribution) = flow.attribution.as_ref() else {
            return;
        };
        let (denied, keys): (bool, Vec<RuleKey>) = match attribution.kind() {
            PolicyVerdictKind::Allowed => (false, rule_keys(&attribution.rules)),
            PolicyVerdictKind::ExplicitDeny => (true, rule_keys(&attribution.rules)),
            PolicyVerdictKind::DefaultDeny => (
                true,
                attribution
                    .selecting_policies
                    .iter()
                    .map(|p| key(p, DEFAULT_DENY))
                    .collect(),
            ),
            PolicyVerdictKind::Unknown => return,
        };
        let mut inner = self.lock();
        for k in keys {
            inner.add(k, denied, flow.time);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Counters only: a panic elsewhere cannot leave them inconsistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Inner {
    fn add(&mut self, key: RuleKey, denied: bool, time: Option<Timestamp>) {
        let full = self.rules.len() >= MAX_RULES;
        let hits = match self.rules.get_mut(&key) {
            Some(h) => h,
            None if full => {
                self.overflow += 1;
                return;
            }
            None => self.rules.entry(key).or_default(),
        };
        if denied {
            hits.denied += 1;
        } else {
            hits.allowed += 1;
        }
        hits.first = hits.first.or(time);
        hits.last = time.or(hits.last);
    }
}

/// What the engine appends to a section's path for the section it generates per Service
/// a `toServices` entry matches (`spec.egress[0] toServices shop/db`; see enforcer's
/// `policy::services::generated_path`, which this crate does not link without the agent).
const TO_SERVICES_MARK: &str = " toServices ";

/// The keys of the allowing or denying rules, each counted under the section as written
/// (a `toServices` section once, whichever Services' backends it reached).
fn rule_keys(rules: &[observe_proto::flow::PolicyRule]) -> Vec<RuleKey> {
    let mut keys: Vec<RuleKey> = rules
        .iter()
        .map(|r| RuleKey {
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            path: r
                .path
                .split_once(TO_SERVICES_MARK)
                .map_or(&r.path[..], |(section, _)| section)
                .to_string(),
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn key(p: &Policy, path: &str) -> RuleKey {
    RuleKey {
        kind: p.kind.clone(),
        namespace: p.namespace.clone(),
        name: p.name.clone(),
        path: path.to_string(),
    }
}

/// Counts every stored policy-verdict event into its [`RuleHits`]. It follows stored
/// events, so the pipeline need not build a flow for every event: only policy verdicts
/// (one per new connection) are built, through the view, which builds a flow once for
/// every hook that reads it (metrics, history, the exporter).
pub struct RuleHitsHook(Arc<RuleHits>);

impl OnDecodedFlow for RuleHitsHook {
    fn sees_flows(&self) -> bool {
        false
    }

    fn on_stored(&mut self, _position: u64, view: &EventView<'_>) {
        let verdict = match view.event() {
            DecodedEvent::Datapath(stored) => stored.kind() == POLICY_VERDICT_KIND,
            DecodedEvent::Flow(_) => true,
            DecodedEvent::Lost(_) => false,
        };
        // Only a verdict's flow is built: asking the view builds it.
        if !verdict {
            return;
        }
        if let Some(flow) = view.flow() {
            self.0.count(flow);
        }
    }
}

#[cfg(test)]
mod tests {
    use observe_proto::flow::{Attribution, CiliumEventType, PolicyRule};

    use super::*;

    fn policy(name: &str) -> Policy {
        Policy {
            name: name.into(),
            namespace: "shop".into(),
            kind: "CiliumNetworkPolicy".into(),
            ..Default::default()
        }
    }

    fn verdict(secs: i64, attribution: Attribution) -> Flow {
        Flow {
            time: Some(Timestamp {
                seconds: secs,
                nanos: 0,
            }),
            event_type: Some(CiliumEventType {
                r#type: POLICY_VERDICT,
                sub_type: 0,
            }),
            attribution: Some(attribution),
            ..Default::default()
        }
    }

    fn rule(name: &str, path: &str) -> PolicyRule {
        PolicyRule {
            kind: "CiliumNetworkPolicy".into(),
            namespace: "shop".into(),
            name: name.into(),
            path: path.into(),
        }
    }

    /// The hook builds the flow of a policy verdict only: building every trace event's
    /// flow cost the agent 40% of its CPU at 1M events/s with nobody reading them.
    #[test]
    fn only_policy_verdicts_are_built() {
        use crate::decode::{BootClock, Decoder};
        use crate::event::{MonitorEvent, Payload};
        use probe_common::event::{FlowEvent, kind};

        let hits = RuleHits::new();
        let mut hook = hits.hook();
        let mut decoder = Decoder::new(BootClock::unix_epoch());
        for (kind, built) in [(kind::TRACE, false), (kind::POLICY_VERDICT, true)] {
            let event = MonitorEvent {
                timestamp: std::time::UNIX_EPOCH,
                node_name: "node-1".into(),
                payload: Payload::Flow(FlowEvent {
                    kind,
                    ..FlowEvent::default()
                }),
            };
            let decoded = decoder.decode_event(&event).expect("decodes");
            let view = EventView::new(&decoded);
            hook.on_stored(0, &view);
            assert_eq!(view.is_built(), built, "event kind {kind}");
        }
    }

    #[test]
    fn allows_denies_and_default_denies_are_counted_per_rule() {
        let hits = RuleHits::new();
        let allow = Attribution {
            kind: PolicyVerdictKind::Allowed.into(),
            rules: vec![rule("web", "spec.ingress[0]")],
            ..Default::default()
        };
        let deny = Attribution {
            kind: PolicyVerdictKind::ExplicitDeny.into(),
            rules: vec![rule("web", "spec.ingressDeny[0]")],
            ..Default::default()
        };
        let default = Attribution {
            kind: PolicyVerdictKind::DefaultDeny.into(),
            selecting_policies: vec![policy("web"), policy("db")],
            ..Default::default()
        };
        let mut hook = hits.hook();
        assert!(
            !hook.sees_flows(),
            "the pipeline builds no flow for this hook"
        );
        for (t, a) in [(1, &allow), (2, &allow), (3, &deny), (4, &default)] {
            let event = DecodedEvent::flow(verdict(t, a.clone()));
            hook.on_stored(0, &EventView::new(&event));
        }
        // Not a policy verdict (a drop event): not a connection of its own.
        let mut drop = verdict(5, deny.clone());
        drop.event_type = Some(CiliumEventType {
            r#type: 1,
            sub_type: 181,
        });
        hook.on_stored(0, &EventView::new(&DecodedEvent::flow(drop)));

        let snap = hits.snapshot();
        let get = |name: &str, path: &str| snap[&key(&policy(name), path)];
        let ingress = get("web", "spec.ingress[0]");
        assert_eq!((ingress.allowed, ingress.denied), (2, 0));
        assert_eq!(ingress.first.unwrap().seconds, 1);
        assert_eq!(ingress.last.unwrap().seconds, 2);
        assert_eq!(get("web", "spec.ingressDeny[0]").denied, 1);
        assert_eq!(get("web", DEFAULT_DENY).denied, 1);
        assert_eq!(get("db", DEFAULT_DENY).denied, 1);
        assert_eq!(snap.len(), 4);
        assert_eq!(hits.overflow(), 0);
    }

    #[test]
    fn a_to_services_section_is_counted_once_under_its_written_path() {
        let hits = RuleHits::new();
        let a = Attribution {
            kind: PolicyVerdictKind::Allowed.into(),
            rules: vec![
                rule("web", "spec.egress[0] toServices shop/db"),
                rule("web", "spec.egress[0] toServices shop/db-replica"),
            ],
            ..Default::default()
        };
        hits.count(&verdict(1, a));
        let snap = hits.snapshot();
        assert_eq!(snap.len(), 1, "{snap:?}");
        assert_eq!(snap[&key(&policy("web"), "spec.egress[0]")].allowed, 1);
    }

    #[test]
    fn past_the_cap_hits_are_counted_as_overflow() {
        let hits = RuleHits::new();
        for i in 0..MAX_RULES + 3 {
            let a = Attribution {
                kind: PolicyVerdictKind::Allowed.into(),
                rules: vec![rule(&format!("p{i}"), "spec.ingress[0]")],
                ..Default::default()
            };
            hits.count(&verdict(1, a));
        }
        assert_eq!(hits.snapshot().len(), MAX_RULES);
        assert_eq!(hits.overflow(), 3);
    }
}
