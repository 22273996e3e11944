//! Cost floors of the classifier's paths, for the datapath benchmark only.
//!
//! A floor does what one path of [`crate::classify`] cannot do without, and nothing else:
//! it reads the same headers with the same `bpf_skb_load_bytes` calls, reads the same
//! clocks, and does the same map operations in the same order (same maps, same keys, same
//! counts), with none of the decisions between them. `probe ns / floor ns` is then what
//! the probe's own logic costs on that path. The floors mirror `from_endpoint` (the
//! endpoint's egress) on IPv4 TCP, which is what the benchmark sends; anything else passes
//! at once.
//!
//! The agent never loads or attaches these programs (it loads its programs by name); the
//! benchmark loads them next to the probe, so they run over the same map instances.

mod event;
mod headers;
mod prologue;

pub mod established;
pub mod new_connection;
