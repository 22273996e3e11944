//! `observerd` command-line options.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// The node agent: loads and attaches the eBPF datapath, turns applied manifests into
/// endpoints and enforced policy, and serves every verdict over a Hubble-compatible API.
#[derive(Parser, Debug, Clone)]
#[command(name = "observerd", version, about)]
pub struct Options {
    /// This node's name: pods without `spec.nodeName` (or with this name) become local
    /// endpoints. Example: --node-name node-1
    #[arg(long, env = "OBSERVERD_NODE_NAME")]
    pub node_name: String,
    /// Unix socket for the gRPC API (observer.Observer and the control API), mode 0660.
    #[arg(long, default_value = "/run/observe/observer.sock")]
    pub socket: PathBuf,
    /// Where the datapath's maps and links are pinned (a bpffs path); per node below it.
    #[arg(long, default_value = "/sys/fs/bpf/observe")]
    pub pin_root: PathBuf,
    /// Where the applied objects are kept, so a restarted agent adopts its state.
    #[arg(long, default_value = "/run/observe/state")]
    pub state_dir: PathBuf,
    /// Named network namespace (under /var/run/netns) that is this node: the agent enters
    /// it at start and wires endpoints to it. Without it the agent stays where it was
    /// started, which must be a named namespace. Prefer this to `ip netns exec`, whose
    /// private mount namespace would hide the endpoint namespaces the agent creates.
    #[arg(long)]
    pub node_netns: Option<String>,
    /// Prefix of the network namespaces created for endpoints (default: the node
    /// namespace's name). Example: --netns-prefix obs-demo
    #[arg(long)]
    pub netns_prefix: Option<String>,
    /// Addresses for pods applied without `status.podIP`. Example: --pod-cidr 10.0.9.0/24
    #[arg(long, default_value = "10.0.200.0/24")]
    pub pod_cidr: String,
    /// Cluster name (the `io.cilium.k8s.policy.cluster` label).
    #[arg(long, default_value = "default")]
    pub cluster_name: String,
    /// Flow ring capacity: a power of two minus one (4095, 65535, ...).
    #[arg(long, default_value_t = 4095)]
    pub max_flows: u32,
    /// Trace events: off (drops and policy verdicts only), new (first packet of each new
    /// connection) or all (every forwarded packet).
    #[arg(long, value_enum, default_value = "new")]
    pub trace: TraceMode,
    /// Log level: error, warn, info, debug.
    #[arg(long, default_value = "info")]
    pub log_level: String,
}

/// Trace event modes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceMode {
    /// No trace events.
    Off,
    /// The first packet of each new connection.
    New,
    /// Every forwarded packet.
    All,
}

impl TraceMode {
    /// The datapath's value (`probe_common::event::trace_mode`).
    pub fn value(self) -> u32 {
        use probe_common::event::trace_mode;
        match self {
            Self::Off => trace_mode::OFF,
            Self::New => trace_mode::NEW_CONNECTIONS,
            Self::All => trace_mode::ALL,
        }
    }
}
