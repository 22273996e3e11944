//! End-to-end tests of `observerd` in a self-contained lab: a real agent process in a node
//! namespace, pods created by the agent, policies enforced by the eBPF datapath, real
//! TCP/UDP/ICMP traffic, and flows read back over the gRPC API. Root only (each test skips
//! with a message otherwise); `cargo xtask test` runs them in CI, `cargo test -p
//! observe-tests --features agent` alone.

mod common;

mod aggregation;
mod attribution;
mod audit;
mod cli;
mod cluster;
mod dns;
mod host_firewall;
mod http;
mod lifecycle;
mod listeners;
mod node_checks;
mod nodes;
mod relay;
mod restart;
mod services;
mod trace_agreement;
mod traffic;
mod tui;
mod workloads;
