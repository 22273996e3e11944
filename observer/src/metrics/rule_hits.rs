//! `observerd_policy_rule_hits_total{policy,rule,action}`: connections each policy rule
//! allowed or denied (from [`crate::rule_hits`]; `rule` is the rule's path, or
//! `(default deny)`), and `observerd_policy_rule_hits_overflow_total`, the hits not
//! counted past the cap on rules, which bounds the family's cardinality.

use std::sync::Arc;

use super::Collector;
use super::text::{Encoder, Kind};
use crate::rule_hits::RuleHits;

const NAME: &str = "observerd_policy_rule_hits_total";
const OVERFLOW: &str = "observerd_policy_rule_hits_overflow_total";

/// The collector.
pub(super) struct RuleHitsMetrics(pub(super) Arc<RuleHits>);

impl Collector for RuleHitsMetrics {
    fn encode(&self, out: &mut Encoder) {
        out.family(
            NAME,
            Kind::Counter,
            "Connections a policy rule allowed or denied (policy-verdict events)",
        );
        for (key, hits) in self.0.snapshot() {
            let policy = if key.namespace.is_empty() {
                key.name.clone()
            } else {
                format!("{}/{}", key.namespace, key.name)
            };
            for (action, n) in [("allowed", hits.allowed), ("denied", hits.denied)] {
                if n > 0 {
                    let labels = [
                        ("policy", policy.as_str()),
                        ("rule", key.path.as_str()),
                        ("action", action),
                    ];
                    out.sample(NAME, &labels, n);
                }
            }
        }
        out.family(
            OVERFLOW,
            Kind::Counter,
            "Rule hits not counted: more rules than the agent keeps counts for",
        );
        out.sample(OVERFLOW, &[], self.0.overflow());
    }
}
