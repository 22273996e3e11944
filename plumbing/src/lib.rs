//! The agent's endpoint plumbing: network namespaces, veth pairs, addresses, routes,
//! sysctls. `observerd` wires each local endpoint to its node with it, and the test lab
//! (`lab`) builds its pods the same way.
//!
//! An endpoint is wired Cilium style (see [`wiring`]): a veth `lxc…` in the node's network
//! namespace ↔ `eth0` in the endpoint's, the endpoint's address as a /32 (/128), a default
//! route via the link-local gateway every `lxc` interface owns, and a host route on the node.
//! [`create_endpoint`], [`adopt_endpoint`] and [`remove_endpoint`] are the agent's entry
//! points; [`netns`], [`sysctl`] and [`command`] are the parts underneath, which the lab
//! shares. Two start-up checks belong here too: [`forwarding`] (a node that does not
//! forward drops every packet an endpoint sends beyond it) and [`mounts`] (namespaces
//! created from a private mount namespace are invisible to everyone else). [`steering`]
//! routes the packets the datapath hands to the agent's proxies.
//!
//! Everywhere, a network namespace is given by its name under `/var/run/netns`, and the
//! empty string means the calling thread's own namespace (an agent on a real host wires
//! endpoints to the host's, which has no name).
//!
//! Links, addresses and routes are set up with iproute2's `ip` (batched: one process per
//! side of a veth) rather than rtnetlink: the `ip` scripts are short, pure and tested
//! without root, while rtnetlink is async-only, would add a netlink stack to a build on two
//! cores, and would still leave the namespace bind mounts to us.

pub mod addr;
pub mod command;
mod endpoint;
mod error;
pub mod forwarding;
pub mod mounts;
pub mod netns;
pub mod steering;
pub mod sysctl;
pub mod wiring;

pub use endpoint::{adopt_endpoint, create_endpoint, remove_endpoint};
pub use error::PlumbingError;
pub use netns::{
    current_name as current_netns_name, enter as enter_netns, exists as netns_exists, ifindex,
};
