//! Policy semantics, one module per area of Cilium's behaviour: each test applies
//! manifests to an engine and asks `trace` whether flows pass, and why.

mod common;

mod cidr;
mod defaults;
mod deny;
mod entities;
mod fqdn;
mod host;
mod http;
mod icmp_sctp;
mod incremental;
mod knp;
mod namespaces;
mod nodes;
mod ports;
mod protocols;
mod requires_l7;
mod services;
mod union;
mod workloads;
