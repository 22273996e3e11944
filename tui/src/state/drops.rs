//! What the drop panels count: dropped pairs (source → destination:port), drops by
//! reason and drops by policy, since the stream started with the current filter.
//!
//! Every map is bounded: past [`MAX_KEYS`] distinct keys the least frequent half is
//! forgotten, so a scan across thousands of ports cannot grow memory without limit (the
//! counts of forgotten keys restart if they come back; the totals stay exact).

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use observe_proto::flow::{Flow, PolicyVerdictKind};

use observe_describe::names::{self, FlowEnd};
use observe_describe::{decision, l4, policy, reason, verdict};

/// Distinct keys kept per map.
pub const MAX_KEYS: usize = 1024;

/// A dropped pair, for one drop reason (a pair dropped by a deny rule and by default
/// deny shows twice: they need different fixes).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pair {
    /// Source name.
    pub source: String,
    /// Destination name.
    pub destination: String,
    /// `5432/TCP`.
    pub port: String,
    /// Drop reason text.
    pub reason: String,
}

/// Counts of one pair, with the policy of the latest drop.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PairStats {
    /// Drops.
    pub count: u64,
    /// POLICY summary of the latest drop.
    pub policy: String,
}

/// What one kind of drop adds to the counters, worked out once: formatting names and
/// policies costs microseconds, and a flood repeats the same few kinds of drops.
#[derive(Clone, Debug)]
struct DropKind {
    pair: Pair,
    policy: String,
    policy_keys: Vec<String>,
}

impl DropKind {
    fn of(flow: &Flow) -> Self {
        Self {
            pair: Pair {
                source: names::name(flow, FlowEnd::Source),
                destination: names::name(flow, FlowEnd::Destination),
                port: l4::of(flow).port_protocol(),
                reason: reason::reason(flow),
            },
            policy: policy::summary(flow),
            policy_keys: policy_keys(flow),
        }
    }
}

/// Drop counters.
#[derive(Clone, Debug, Default)]
pub struct DropStats {
    /// Kinds of drops by the fingerprint of the fields they are made of.
    kinds: HashMap<u64, DropKind>,
    pairs: HashMap<Pair, PairStats>,
    by_reason: HashMap<String, u64>,
    by_policy: HashMap<String, u64>,
    total: u64,
}

impl DropStats {
    /// Counts `flow` if it is a drop.
    pub fn record(&mut self, flow: &Flow) {
        if !verdict::is_drop_event(flow) {
            return;
        }
        self.total += 1;
        if self.kinds.len() >= 4 * MAX_KEYS {
            self.kinds.clear();
        }
        let kind = self
            .kinds
            .entry(fingerprint(flow))
            .or_insert_with(|| DropKind::of(flow));
        match self.pairs.get_mut(&kind.pair) {
            Some(stats) => {
                stats.count += 1;
                stats.policy.clone_from(&kind.policy);
            }
            None => {
                let stats = PairStats {
                    count: 1,
                    policy: kind.policy.clone(),
                };
                self.pairs.insert(kind.pair.clone(), stats);
            }
        }
        bump(&mut self.by_reason, &kind.pair.reason);
        for key in &kind.policy_keys {
            bump(&mut self.by_policy, key);
        }
        prune(&mut self.pairs, |s| s.count);
        prune(&mut self.by_reason, |c| *c);
        prune(&mut self.by_policy, |c| *c);
    }

    /// Drops counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The `n` most dropped pairs, most first.
    pub fn top_pairs(&self, n: usize) -> Vec<(&Pair, &PairStats)> {
        top(&self.pairs, n, |s| s.count)
    }

    /// The `n` most frequent drop reasons, most first.
    pub fn top_reasons(&self, n: usize) -> Vec<(&String, &u64)> {
        top(&self.by_reason, n, |c| *c)
    }

    /// The `n` policies behind the most drops, most first.
    pub fn top_policies(&self, n: usize) -> Vec<(&String, &u64)> {
        top(&self.by_policy, n, |c| *c)
    }
}

/// One key per policy behind the drop (`default deny: KNP shop/db-ingress`), or the
/// reason when no policy was involved.
fn policy_keys(flow: &Flow) -> Vec<String> {
    let label = match decision::classify(flow) {
        PolicyVerdictKind::DefaultDeny => "default deny",
        PolicyVerdictKind::ExplicitDeny => "deny",
        _ => return vec!["(not a policy drop)".into()],
    };
    let names = policy::policy_names(flow);
    if names.is_empty() {
        return vec![format!("{label}: (policy not named)")];
    }
    names.into_iter().map(|n| format!("{label}: {n}")).collect()
}

fn bump(map: &mut HashMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(count) => *count += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// A hash of every field [`DropKind::of`] reads, so equal fingerprints mean equal kinds
/// (up to a 64-bit collision).
fn fingerprint(flow: &Flow) -> u64 {
    let mut h = DefaultHasher::new();
    (flow.verdict, flow.drop_reason_desc, flow.traffic_direction).hash(&mut h);
    #[expect(deprecated, reason = "drop_reason::drop_code falls back to it")]
    flow.drop_reason.hash(&mut h);
    for ep in [&flow.source, &flow.destination] {
        ep.as_ref()
            .map(|e| (&e.namespace, &e.pod_name, &e.labels))
            .hash(&mut h);
    }
    (flow.source_names.first(), flow.destination_names.first()).hash(&mut h);
    flow.ip
        .as_ref()
        .map(|ip| (&ip.source, &ip.destination))
        .hash(&mut h);
    l4::protocol_and_port(flow).hash(&mut h);
    (flow.r#type, flow.event_type.as_ref().map(|e| e.r#type)).hash(&mut h);
    flow.trace_observation_point.hash(&mut h);
    if let Some(a) = &flow.attribution {
        a.kind.hash(&mut h);
        for r in &a.rules {
            (&r.kind, &r.namespace, &r.name).hash(&mut h);
        }
        for p in &a.selecting_policies {
            (&p.kind, &p.namespace, &p.name).hash(&mut h);
        }
    }
    let lists = [
        &flow.ingress_denied_by,
        &flow.egress_denied_by,
        &flow.ingress_allowed_by,
        &flow.egress_allowed_by,
    ];
    for (i, list) in lists.into_iter().enumerate() {
        for p in list {
            (i, &p.kind, &p.namespace, &p.name).hash(&mut h);
        }
    }
    h.finish()
}

fn top<K: Ord, V>(map: &HashMap<K, V>, n: usize, count: impl Fn(&V) -> u64) -> Vec<(&K, &V)> {
    let mut all: Vec<_> = map.iter().collect();
    // Ties break on the key so the order is stable between frames.
    all.sort_by(|a, b| count(b.1).cmp(&count(a.1)).then_with(|| a.0.cmp(b.0)));
    all.truncate(n);
    all
}

fn prune<K: Eq + Hash + Clone, V>(map: &mut HashMap<K, V>, count: impl Fn(&V) -> u64) {
    if map.len() <= MAX_KEYS {
        return;
    }
    let mut counts: Vec<u64> = map.values().map(&count).collect();
    let keep = MAX_KEYS / 2;
    counts.select_nth_unstable_by(keep, |a, b| b.cmp(a));
    let threshold = counts[keep];
    map.retain(|_, v| count(v) > threshold);
}

#[cfg(test)]
mod tests {
    use super::*;
    use observe_proto::flow::{DropReason, Endpoint, Verdict};

    fn drop_to(pod: &str, reason: DropReason) -> Flow {
        Flow {
            verdict: Verdict::Dropped.into(),
            drop_reason_desc: reason.into(),
            destination: Some(Endpoint {
                namespace: "shop".into(),
                pod_name: pod.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn drops_are_counted_per_pair_reason_and_policy_and_forwarded_flows_are_ignored() {
        let mut d = DropStats::default();
        d.record(&drop_to("db", DropReason::PolicyDenied));
        d.record(&drop_to("db", DropReason::PolicyDenied));
        d.record(&drop_to("web", DropReason::StaleOrUnroutableIp));
        d.record(&Flow {
            verdict: Verdict::Forwarded.into(),
            ..Default::default()
        });
        assert_eq!(d.total(), 3);
        let top = d.top_pairs(5);
        assert_eq!(
            (top[0].0.destination.as_str(), top[0].1.count),
            ("shop/db", 2)
        );
        assert_eq!(d.top_reasons(1)[0], (&"Policy denied".to_string(), &2));
        assert!(
            d.top_policies(5)
                .iter()
                .any(|(k, _)| k.as_str() == "(not a policy drop)")
        );
    }

    #[test]
    fn a_scan_across_many_pairs_keeps_the_maps_bounded() {
        let mut d = DropStats::default();
        for i in 0..(MAX_KEYS * 3) {
            d.record(&drop_to(&format!("p{i}"), DropReason::PolicyDenied));
        }
        assert!(d.pairs.len() <= MAX_KEYS);
        assert_eq!(d.total(), (MAX_KEYS * 3) as u64);
    }
}
