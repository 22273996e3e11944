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
//! [`udp_roundtrip`], [`ping`]) probe reachability with timeouts. Everything needs root; tests
//! start with [`require_root`].
//!
//! For the programs under test, [`Terminal`] runs a full-screen program in a tmux
//! pseudo-terminal and [`workspace_binary`] finds another package's binary.

mod addr;
mod bpffs;
mod cleanup;
mod command;
mod endpoint;
mod error;
mod lab;
mod name;
mod netns;
mod node_link;
pub mod plumbing;
mod root;
mod run_id;
mod sysctl;
mod terminal;
mod traffic;
mod wiring;
mod workspace_bin;

pub use bpffs::BpffsDir;
pub use cleanup::{cleanup_stale, teardown};
pub use command::exec;
pub use endpoint::{NodeRef, PodRef, Role};
pub use error::LabError;
pub use lab::Lab;
pub use netns::in_netns;
pub use root::require_root;
pub use terminal::{Terminal, table_rows};
pub use traffic::{TcpServer, UdpEcho, ping, tcp_connect, udp_roundtrip};
pub use workspace_bin::workspace_binary;
