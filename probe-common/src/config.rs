//! Run-time configuration of the datapath, written by userspace into a one-slot array map.

/// The datapath's run-time switches (index 0 of the config map).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ProbeConfig {
    /// See [`crate::event::trace_mode`].
    pub trace_mode: u32,
    /// 1: emit a policy-verdict event for each new connection (default 1).
    pub policy_verdict_events: u32,
    /// 1: emit a drop event for each drop (default 1).
    pub drop_events: u32,
    /// Port of the agent's transparent DNS proxy (UDP and TCP, on 127.0.0.1 and ::1), 0 when it
    /// does not run: policy entries flagged [`crate::policy::entry_flags::REDIRECT_DNS`]
    /// are steered to it (see [`crate::proxy`]).
    pub dns_proxy_port: u16,
    /// Port of the agent's transparent HTTP proxy (TCP on 127.0.0.1 and ::1), 0 when it
    /// does not run: policy entries flagged [`crate::policy::entry_flags::REDIRECT_HTTP`]
    /// are steered to it.
    pub http_proxy_port: u16,
    /// In [`crate::event::trace_mode::AGGREGATE`]: the longest a connection that keeps
    /// sending goes without a trace event (its counters' report interval), in ms.
    pub aggregation_interval_ms: u32,
}
const _: () = assert!(core::mem::size_of::<ProbeConfig>() == 20);

impl ProbeConfig {
    /// The configuration the loader writes when nothing else is asked for: drops and policy
    /// verdicts on, per-packet tracing off.
    pub const DEFAULT: Self = Self {
        trace_mode: crate::event::trace_mode::NEW_CONNECTIONS,
        policy_verdict_events: 1,
        drop_events: 1,
        dns_proxy_port: 0,
        http_proxy_port: 0,
        aggregation_interval_ms: Self::AGGREGATION_INTERVAL_MS,
    };

    /// The default of [`Self::aggregation_interval_ms`], as Cilium's
    /// `--monitor-aggregation-interval` (5 s).
    pub const AGGREGATION_INTERVAL_MS: u32 = 5_000;
}
