//! Names of numeric things in flows, shared by the flag parsers and the printers: verdicts,
//! reserved security identities, monitor event types and trace observation points.
//!
//! The numbers are Cilium's (`pkg/monitor/api`, `pkg/identity`), which the datapath and
//! `Flow.event_type` use.

/// The verdicts `--verdict` accepts, in Hubble's order.
pub const VERDICTS: &[&str] = &[
    "FORWARDED",
    "DROPPED",
    "AUDIT",
    "REDIRECTED",
    "ERROR",
    "TRACED",
    "TRANSLATED",
];

/// Reserved security identities: fixed numbers with names, printed as `(world)`; the one
/// table is `probe_common::identity`, shared with the datapath and the engine.
pub use probe_common::identity::{
    RESERVED as RESERVED_IDENTITIES, by_name as reserved_identity, name as reserved_identity_name,
};

/// Whether `flow` is a policy-verdict event (its monitor type is [`TYPE_POLICY_VERDICT`]).
pub fn is_policy_verdict(flow: &observe_proto::flow::Flow) -> bool {
    flow.event_type
        .as_ref()
        .is_some_and(|e| e.r#type == TYPE_POLICY_VERDICT)
}

/// The verdict as Hubble prints it: for a policy-verdict event `ALLOWED`, `DENIED` or
/// `AUDITED` (the policy decided; the packet's fate is its drop or trace event), else the
/// verdict's name (`FORWARDED`, `DROPPED`, ...).
pub fn verdict_word(flow: &observe_proto::flow::Flow) -> &'static str {
    use observe_proto::flow::Verdict;
    match flow.verdict() {
        Verdict::Forwarded | Verdict::Redirected if is_policy_verdict(flow) => "ALLOWED",
        Verdict::Dropped | Verdict::Error if is_policy_verdict(flow) => "DENIED",
        Verdict::Audit if is_policy_verdict(flow) => "AUDITED",
        v => v.as_str_name(),
    }
}

/// Monitor message types `--type` accepts by name (`Flow.event_type.type`).
pub const EVENT_TYPES: &[(i32, &str)] = &[
    (1, "drop"),
    (2, "debug"),
    (3, "capture"),
    (4, "trace"),
    (5, "policy-verdict"),
    (6, "recorder"),
    (7, "trace-sock"),
    (129, "l7"),
    (130, "agent"),
];

/// Monitor message type of drops.
pub const TYPE_DROP: i32 = 1;
/// Monitor message type of traces.
pub const TYPE_TRACE: i32 = 4;
/// Monitor message type of policy verdicts.
pub const TYPE_POLICY_VERDICT: i32 = 5;
/// Monitor message type of debug captures.
pub const TYPE_CAPTURE: i32 = 3;
/// Monitor message type of socket traces.
pub const TYPE_TRACE_SOCK: i32 = 7;

/// Trace observation points by monitor number (`Flow.event_type.sub_type` of traces).
pub const OBSERVATION_POINTS: &[(i32, &str)] = &[
    (0, "to-endpoint"),
    (1, "to-proxy"),
    (2, "to-host"),
    (3, "to-stack"),
    (4, "to-overlay"),
    (5, "from-endpoint"),
    (6, "from-proxy"),
    (7, "from-host"),
    (8, "from-stack"),
    (9, "from-overlay"),
    (10, "from-network"),
    (11, "to-network"),
    (12, "from-crypto"),
    (13, "to-crypto"),
];

/// The name of an observation point (0 → `to-endpoint`).
pub fn observation_point_name(sub_type: i32) -> Option<&'static str> {
    OBSERVATION_POINTS
        .iter()
        .find(|(n, _)| *n == sub_type)
        .map(|(_, name)| *name)
}
