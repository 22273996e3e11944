//! The cluster's state in etcd: manifests ("objects"), node registrations, the ipcache
//! and identities, each a [`Section`] of keys under one prefix (default `/observe/v1/`).
//! Values are opaque bytes: the agent serializes its own JSON.
//!
//! - [`Store`]: a connection ([`parse_endpoints`] reads `--kvstore`, [`Config`] the rest);
//!   atomic [`Store::commit`], [`Store::list`], [`Store::status`].
//! - [`reflect`]: a replicated view of a section, kept by a background task ([`Update`]s:
//!   `Resync`, then `Changes`, `Down` during outages, `Resync` again after).
//! - [`Publisher`]: the keys a node owns under its lease, kept true by a background task.
//! - [`NodeRecord`]: a node's registration under `nodes/`, read by agents and the relay.
//! - Identities ([`identity`]): [`Store::allocate_identity`] gives a label set the same
//!   number on every node; [`Store::collect_identities`] deletes numbers nobody uses.
//!
//! Nothing panics on what etcd returns: malformed keys and values become typed errors or
//! are skipped with a logged count (through `tracing`).

#[cfg(feature = "clap")]
mod args;
mod backoff;
mod config;
mod endpoints;
mod error;
pub mod identity;
mod keys;
mod listing;
pub mod node;
mod publisher;
mod reflect;
mod section;
mod status;
mod store;

#[cfg(feature = "clap")]
pub use args::KvstoreArgs;
pub use config::{Config, DEFAULT_PREFIX, TlsFiles};
pub use endpoints::parse_endpoints;
pub use error::Error;
pub use identity::UnusedSince;
pub use listing::Listing;
pub use node::NodeRecord;
pub use publisher::{Publisher, PublisherState};
pub use reflect::{Update, reflect};
pub use section::Section;
pub use status::EtcdStatus;
pub use store::{FENCE_KEY, FENCE_TTL, MAX_TXN_OPS, Store, is_fenced};
