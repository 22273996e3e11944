//! Hubble wire-compatible protobuf types and gRPC stubs.
//!
//! The `.proto` files under this crate (`flow/`, `observer/`, `relay/`) keep Hubble's
//! packages, names and field numbers, so Hubble clients talk to our server and our clients
//! read Hubble's output; our additions use field numbers from 50001 up. Code is generated
//! at build time (see `build.rs`): prost messages, tonic client and server stubs, and serde
//! impls following the proto3 JSON mapping with the original field names, as
//! `hubble observe -o jsonpb` prints them.
//!
//! `control/` is our own agent API. With the `client` feature, [`client::connect`] and
//! [`client::connect_with`] open a channel to a server address as the CLI and the TUI take
//! it: a unix socket, plaintext TCP, or TLS (rustls) with optional client certificates.
//!
//! [`raw`] and [`raw_route`] carry `GetFlows` responses encoded (the agent encodes each
//! once; the relay passes them on without decoding the flow).
//!
//! Only generated code, the [`Timestamp`] well-known type, the connection helper and the
//! wire codecs live here; no business logic.

#![warn(missing_docs)]

mod timestamp;

pub use timestamp::{Timestamp, TimestampError};

/// Well-known types other than [`Timestamp`] (wrappers, `FieldMask`, `Any`), with serde
/// impls.
pub use pbjson_types;

/// Flow records, filters, verdicts, drop reasons and lost events (package `flow`).
#[allow(clippy::all, missing_docs, reason = "generated code")]
pub mod flow {
    include!(concat!(env!("OUT_DIR"), "/flow.rs"));
    include!(concat!(env!("OUT_DIR"), "/flow.serde.rs"));
}

/// The `Observer` service and its requests and responses (package `observer`).
#[allow(clippy::all, missing_docs, reason = "generated code")]
pub mod observer {
    include!(concat!(env!("OUT_DIR"), "/observer.rs"));
    include!(concat!(env!("OUT_DIR"), "/observer.serde.rs"));
}

/// Node status events a relay interleaves with flows (package `relay`).
#[allow(clippy::all, missing_docs, reason = "generated code")]
pub mod relay {
    include!(concat!(env!("OUT_DIR"), "/relay.rs"));
    include!(concat!(env!("OUT_DIR"), "/relay.serde.rs"));
}

/// The agent's control API (package `observe.control.v1`): apply, delete, get, trace.
#[allow(clippy::all, missing_docs, reason = "generated code")]
pub mod control {
    include!(concat!(env!("OUT_DIR"), "/observe.control.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/observe.control.v1.serde.rs"));
}

#[cfg(feature = "client")]
pub mod client;
pub mod raw;
pub mod raw_route;
pub mod writer;

/// The encoded `FileDescriptorSet` of all three packages and their imports, for gRPC
/// server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/descriptor_set.bin"));
