//! `hubble_drop_total{reason,protocol,policy}`: dropped flows by drop reason (the enum
//! name, `POLICY_DENIED`) and protocol, as Hubble's `drop` metric; our `policy` label
//! says which policies decided a policy drop (empty for other drops).

use observe_proto::flow::{Flow, Verdict};

use super::labels::{self, PolicyLabels};
use super::series::CounterVec;
use super::text::Encoder;
use super::{Handler, POLICY_LABEL_LIMIT, Plugin};

/// The plugin.
pub(super) const PLUGIN: Plugin = Plugin {
    name: "drop",
    new: || Box::new(DropHandler::default()),
};

type Key = (&'static str, &'static str, std::sync::Arc<str>);

struct DropHandler {
    drops: CounterVec<Key>,
    policies: PolicyLabels,
}

impl Default for DropHandler {
    fn default() -> Self {
        Self {
            drops: CounterVec::default(),
            policies: PolicyLabels::new(POLICY_LABEL_LIMIT),
        }
    }
}

impl Handler for DropHandler {
    fn process_flow(&mut self, flow: &Flow) {
        if flow.verdict() != Verdict::Dropped {
            return;
        }
        let reason = flow.drop_reason_desc().as_str_name();
        let policy = self.policies.get(labels::policies(flow));
        self.drops.inc((reason, labels::protocol(flow), policy));
    }

    fn encode(&self, out: &mut Encoder) {
        self.drops.encode(
            out,
            ("hubble_drop_total", "Number of drops"),
            ["reason", "protocol", "policy"],
            |(reason, protocol, policy)| {
                [reason.to_string(), protocol.to_string(), policy.to_string()]
            },
        );
    }
}
