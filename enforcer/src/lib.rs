//! The enforcer library: a Cilium-compatible policy engine that turns Kubernetes and Cilium
//! manifests into per-endpoint map state, and (with the `datapath` feature) the loader that
//! puts that state into the eBPF datapath.

pub mod cluster;
pub mod datapath;
pub mod engine;
pub mod fqdn;
pub mod identity;
pub mod labels;
pub mod manifest;
pub mod mapstate;
pub mod net;
pub mod policy;
