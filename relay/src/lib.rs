//! `observe-relay`: one Hubble-compatible `observer.Observer` for every node of a
//! cluster, as Hubble Relay is for Cilium's.
//!
//! - [`discover`]: the nodes, from `--peer`s or the cluster's registrations in etcd;
//! - [`peers`]: a connection per node, health-checked, redialed with backoff;
//! - [`get_flows`]: a client's request fanned out to the nodes and their streams merged
//!   in time order through the [`sort_buffer`], with node status events;
//! - responses are carried as the nodes encoded them ([`observe_proto::raw`]), and the
//!   relay's own `GetFlows` is served raw next to the generated server
//!   ([`observe_proto::raw_route`]);
//! - [`status_events`]: the node status events themselves;
//! - [`service`]: the observer service (status, nodes, namespaces summed over nodes);
//! - [`serve`]: the listener; [`metrics`]: the relay's own metrics; [`options`]: flags.

#![warn(missing_docs)]

pub mod discover;
pub mod get_flows;
pub mod metrics;
pub mod options;
pub mod peers;
pub mod serve;
pub mod service;
pub mod sort_buffer;
pub mod status_events;
