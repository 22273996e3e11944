//! Self-contained network labs for end-to-end tests and the demo, built from Linux network
//! namespaces (see "The lab: endpoints, nodes and safety" in the design).
//!
//! A [`Lab`] creates nodes (namespaces with forwarding on and no uplink), pods and world hosts
//! (namespaces attached to a node by a veth pair, Cilium style: `lxc<n>` on the node, `eth0` in
//! the pod, pod address as a /32 plus a default route via `169.254.1.1`/`fe80::1`), and links
//! between nodes. Nothing is ever added to the host's own namespace: links are created inside
//! lab namespaces, and pods and world hosts may only use lab address ranges (`10.0.0.0/8`,
//! `fc00::/7`; the documentation ranges for world hosts).
//!
//! Every namespace and bpffs directory carries a per-run prefix (`obs-` and six base36
//! characters) and is removed by a drop guard, also when a test panics; [`cleanup_stale`]
//! removes what killed processes left behind. [`in_netns`] and [`exec`] run code or programs
//! inside a namespace, and the traffic helpers ([`TcpServer`], [`tcp_connect`], [`UdpEcho`],
//! [`udp_roundtrip`], [`ping`]) probe reachability with timeouts; [`DnsServer`] and
//! [`dns_query`] serve and ask for names over UDP and TCP. Everything needs root; tests
//! start with [`require_root`], which skips them without root (and fails them under
//! `CI=true`), recording each skip for `cargo xtask test` to count.
//!
//! For tests of any crate, [`golden`] compares output with golden files (`UPDATE_GOLDEN=1`
//! rewrites them) and [`prng::Rng`] draws property-test cases from a seed.
//!
//! For the programs under test, [`Terminal`] runs a full-screen program in a tmux
//! pseudo-terminal and [`workspace_binary`] finds another package's binary.
//!
//! Namespaces, veth wiring and sysctls are the agent's own plumbing (`observe_plumbing`):
//! lab pods are wired exactly like the endpoints `observerd` creates. This crate adds the
//! lab around it: names, address safety, node links, guards and cleanup, traffic and tmux.

mod addr;
mod bpffs;
mod cleanup;
mod endpoint;
mod error;
pub mod etcd;
pub mod golden;
mod inside;
mod lab;
mod name;
mod node_link;
pub mod pki;
pub mod prng;
mod root;
mod run_id;
mod terminal;
mod traffic;
mod underlay;
mod workspace_bin;

pub use bpffs::BpffsDir;
pub use cleanup::{cleanup_stale, teardown};
pub use endpoint::{NodeRef, PodRef, Role};
pub use error::LabError;
pub use inside::{exec, in_netns};
pub use lab::Lab;
/// Whether a named namespace exists (tests check what the agent and the lab left behind).
pub use observe_plumbing::netns_exists;
pub use root::{SKIP_LOG_ENV, is_root, require_root};
pub use terminal::{Terminal, table_rows};
pub use traffic::{
    DnsReply, DnsServer, HttpRequest, HttpResponse, HttpServer, TcpServer, UdpEcho, dns_query,
    dns_query_from, http_requests, ping, tcp_connect, udp_roundtrip,
};
pub use underlay::{UNDERLAY_IFNAME, UnderlayNode};
pub use workspace_bin::{workspace_binary, workspace_binary_with_features};
