//! How the gRPC API is offered on a listener: the standard services every listener
//! carries next to ours ([`standard`]: gRPC health and server reflection), and the TLS
//! settings of a TCP listener ([`tls`]).
//!
//! The agent decides which listeners exist (the unix socket always, TCP on request) and
//! which of our services each one serves; this module only holds what is the same
//! everywhere, so in-process tests build exactly what the agent serves.

pub mod standard;
pub mod tls;

pub use standard::{StandardServices, add_standard_services};
pub use tls::{TlsError, TlsFiles};
