//! `hubble_policy_verdicts_total{direction,match,action,policy}`: policy-verdict events
//! by direction, match type (`l3-l4`) and action (`forwarded`, `dropped`), as Hubble's
//! `policy` metric (which skips verdicts whose source is the host: the host may always
//! reach local endpoints); our `policy` label names the deciding policies.

use observe_proto::flow::Flow;

use super::labels::{self, PolicyLabels};
use super::series::CounterVec;
use super::text::Encoder;
use super::{Handler, POLICY_LABEL_LIMIT, Plugin};

/// The plugin.
pub(super) const PLUGIN: Plugin = Plugin {
    name: "policy",
    new: || Box::new(PolicyHandler::default()),
};

/// Monitor type of policy-verdict events.
const POLICY_VERDICT: i32 = probe_common::event::kind::POLICY_VERDICT as i32;

type Key = (
    &'static str,
    &'static str,
    &'static str,
    std::sync::Arc<str>,
);

struct PolicyHandler {
    verdicts: CounterVec<Key>,
    policies: PolicyLabels,
}

impl Default for PolicyHandler {
    fn default() -> Self {
        Self {
            verdicts: CounterVec::default(),
            policies: PolicyLabels::new(POLICY_LABEL_LIMIT),
        }
    }
}

impl Handler for PolicyHandler {
    fn process_flow(&mut self, flow: &Flow) {
        if flow.event_type.as_ref().map(|e| e.r#type) != Some(POLICY_VERDICT) {
            return;
        }
        if flow.source.as_ref().map(|s| s.identity) == Some(probe_common::identity::HOST) {
            return;
        }
        let policy = self.policies.get(labels::policies(flow));
        self.verdicts.inc((
            labels::direction(flow),
            labels::match_type(flow),
            labels::action(flow),
            policy,
        ));
    }

    fn encode(&self, out: &mut Encoder) {
        self.verdicts.encode(
            out,
            (
                "hubble_policy_verdicts_total",
                "Total number of Cilium network policy verdicts",
            ),
            ["direction", "match", "action", "policy"],
            |(direction, matched, action, policy)| {
                [
                    direction.to_string(),
                    matched.to_string(),
                    action.to_string(),
                    policy.to_string(),
                ]
            },
        );
    }
}
