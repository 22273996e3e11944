//! The eBPF datapath, from the engine's map state to enforcing programs in the kernel.
//!
//! Pure layer (always compiled, tested without root):
//! - [`keys`]: map state → policy LPM entries;
//! - [`cookie`]: rule sets ↔ the cookies entries and events carry;
//! - [`desired`]: the maps' desired contents for a set of endpoints and an ipcache;
//! - [`maps`] / [`memory`]: what a map must offer, and in-memory maps;
//! - [`mod@apply`]: reconcile maps with a desired state, in a safe order;
//! - [`model`]: the kernel's decision procedure over map contents, in Rust;
//! - [`error`]: the errors of this module.
//!
//! Kernel layer (feature `datapath`, needs root): `loader` (load or adopt the pinned
//! datapath), `attach` (tcx links, pinned), `kernel_maps` (aya-backed map traits),
//! `connections` (a read-only view of conntrack from its pins), `counters`, `config` and
//! `events`.

pub mod apply;
pub mod cookie;
pub mod desired;
pub mod error;
pub mod keys;
pub mod maps;
pub mod memory;
pub mod model;

#[cfg(feature = "datapath")]
pub mod attach;
#[cfg(feature = "datapath")]
pub mod config;
#[cfg(feature = "datapath")]
pub mod connections;
#[cfg(feature = "datapath")]
pub mod counters;
#[cfg(feature = "datapath")]
pub mod events;
#[cfg(feature = "datapath")]
pub mod kernel_maps;
#[cfg(feature = "datapath")]
pub mod loader;

pub use apply::{ApplyReport, apply};
pub use cookie::CookieTable;
pub use desired::{DesiredState, EndpointInput, IpCacheInput};
#[cfg(feature = "datapath")]
pub use error::DatapathError;
pub use error::{DesiredError, MapError};
#[cfg(feature = "datapath")]
pub use loader::Datapath;
