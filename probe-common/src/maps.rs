//! Names of the maps the datapath defines, shared so the loader finds them by name.
//!
//! Pinned under `<bpffs>/<node>/maps/<NAME>`; the names are also the ELF symbol names.

/// LPM trie: [`crate::policy::PolicyKey`] → [`crate::policy::PolicyEntry`].
pub const POLICY: &str = "OBS_POLICY";
/// Hash: interface index (u32) → [`crate::endpoint::EndpointInfo`].
pub const ENDPOINTS: &str = "OBS_ENDPOINTS";
/// LPM trie: [`crate::ipcache::IpCacheKey`] → [`crate::ipcache::IpCacheEntry`].
pub const IPCACHE: &str = "OBS_IPCACHE";
/// LRU hash: [`crate::conntrack::CtKey`] → [`crate::conntrack::CtEntry`].
pub const CONNTRACK: &str = "OBS_CT";
/// LRU hash: [`crate::conntrack::FragKey`] → [`crate::conntrack::FragEntry`].
pub const FRAGMENTS: &str = "OBS_FRAGS";
/// Per-CPU array of u64 counters, indexed as described in [`crate::counters`].
pub const COUNTERS: &str = "OBS_COUNTERS";
/// Array with one [`crate::config::ProbeConfig`] at index 0.
pub const CONFIG: &str = "OBS_CONFIG";
/// Ring buffer of [`crate::event::FlowEvent`].
pub const EVENTS: &str = "OBS_EVENTS";
/// Per-CPU array with one slot: the datapath's scratch space for the packet being
/// classified. Holds nothing between packets, so it is the one map that is not pinned.
pub const SCRATCH: &str = "OBS_SCRATCH";
/// Per-CPU array with one slot: when this CPU last woke the ring buffer's reader
/// (`bpf_ktime_get_ns`). Only paces wake-ups, so it is not pinned either.
pub const WAKEUP: &str = "OBS_WAKEUP";

/// The node-side programs' slots in the [`NODE_SIDE`] program array.
pub mod node_side {
    /// `from_endpoint_node`: what a pod sends its node.
    pub const FROM_ENDPOINT: u32 = 0;
    /// `to_endpoint_node`: what a node sends its pod.
    pub const TO_ENDPOINT: u32 = 1;
    /// Slots.
    pub const LEN: u32 = 2;
}

/// The program array the pods' programs tail-call for a new connection with their own
/// node (host firewall): [`node_side`]'s slots. Pinned, so the slots stay filled while
/// the agent restarts (a program array is emptied when its last holder goes).
pub const NODE_SIDE: &str = "OBS_NODE_SIDE";

/// Program names (the `#[classifier]` function names).
pub mod programs {
    /// Attached on the ingress hook of the host-side veth: packets the endpoint sends
    /// (its egress policy).
    pub const FROM_ENDPOINT: &str = "from_endpoint";
    /// Attached on the egress hook of the host-side veth: packets sent to the endpoint
    /// (its ingress policy).
    pub const TO_ENDPOINT: &str = "to_endpoint";
    /// Attached on the ingress hook of a node's network device (host firewall): packets
    /// from the network (the host endpoint's ingress policy).
    pub const FROM_NETWORK: &str = "from_network";
    /// Attached on the egress hook of a node's network device (host firewall): packets to
    /// the network (the host endpoint's egress policy).
    pub const TO_NETWORK: &str = "to_network";
    /// Tail-called by `from_endpoint` for a new connection from a pod to its own node:
    /// the node's host endpoint decides it too (host firewall).
    pub const FROM_ENDPOINT_NODE: &str = "from_endpoint_node";
    /// Tail-called by `to_endpoint` for a new connection from a node to its own pod.
    pub const TO_ENDPOINT_NODE: &str = "to_endpoint_node";
}

/// Capacity of the policy LPM trie (entries over all endpoints and directions).
pub const POLICY_MAX_ENTRIES: u32 = 262_144;
/// Capacity of the endpoints map: every endpoint id (`u16`, 0 reserved). Entries are not
/// preallocated, so the capacity costs nothing until used. (It was 4,096, which refused a
/// node's 4,097th endpoint.)
pub const ENDPOINTS_MAX_ENTRIES: u32 = 65_535;
/// Capacity of the ipcache LPM trie.
pub const IPCACHE_MAX_ENTRIES: u32 = 131_072;
/// Capacity of the conntrack LRU.
pub const CONNTRACK_MAX_ENTRIES: u32 = 262_144;
/// Capacity of the fragment-tracking LRU.
pub const FRAGMENTS_MAX_ENTRIES: u32 = 8_192;
/// Size of the event ring buffer in bytes (a power-of-two multiple of the page size).
pub const EVENTS_BYTES: u32 = 4 << 20;
