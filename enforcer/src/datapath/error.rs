//! Errors of the datapath layer. Each names what failed (map, interface, path) so that a
//! message alone tells an operator where to look.
//!
//! [`MapError`] and [`DesiredError`] come from the pure layer (also without the `datapath`
//! feature); `DatapathError` (feature `datapath`) from loading and attaching.

use std::error::Error as StdError;

/// A map operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// The kernel (or the in-memory stand-in) refused the operation.
    #[error("map {map}: cannot {op} {key}: {source}")]
    Op {
        /// Map name (`OBS_POLICY`, ...).
        map: &'static str,
        /// `insert`, `remove` or `read`.
        op: &'static str,
        /// The key, formatted for humans (empty for whole-map reads).
        key: String,
        /// What the kernel said.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// The map has no room for another entry.
    #[error("map {map} is full ({capacity} entries): cannot insert {key}")]
    Full {
        /// Map name.
        map: &'static str,
        /// Its capacity.
        capacity: usize,
        /// The key that did not fit.
        key: String,
    },
}

/// The agent's endpoint inputs are inconsistent; nothing was computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesiredError {
    /// Two endpoints claim the same interface.
    #[error("interface {ifindex} is given to endpoints {other_endpoint_id} and {endpoint_id}")]
    DuplicateIfindex {
        /// The interface index.
        ifindex: u32,
        /// The second endpoint.
        endpoint_id: u16,
        /// The first endpoint.
        other_endpoint_id: u16,
    },
    /// Two interfaces claim the same endpoint id.
    #[error("endpoint id {endpoint_id} is used on interfaces {other_ifindex} and {ifindex}")]
    DuplicateEndpointId {
        /// The endpoint id.
        endpoint_id: u16,
        /// The second interface.
        ifindex: u32,
        /// The first interface.
        other_ifindex: u32,
    },
    /// Endpoint id 0 means "no endpoint" in events and cannot be used.
    #[error("interface {ifindex}: endpoint id 0 is reserved")]
    ReservedEndpointId {
        /// The interface index.
        ifindex: u32,
    },
}

#[cfg(feature = "datapath")]
pub use loader_errors::DatapathError;

#[cfg(feature = "datapath")]
mod loader_errors {
    use std::io;
    use std::path::PathBuf;

    use super::MapError;

    /// Loading, adopting, attaching or operating the eBPF datapath failed.
    #[derive(Debug, thiserror::Error)]
    pub enum DatapathError {
        /// bpffs is not mounted and could not be mounted.
        #[error("cannot mount bpffs at {path}: {source}")]
        MountBpffs {
            /// Mount point.
            path: PathBuf,
            /// The mount error.
            #[source]
            source: io::Error,
        },
        /// A pin directory could not be created or read.
        #[error("pin directory {path}: {source}")]
        PinDir {
            /// The directory.
            path: PathBuf,
            /// The error.
            #[source]
            source: io::Error,
        },
        /// A pinned map from an earlier run does not match this build's definition.
        #[error(
            "pinned map {path} is incompatible with map {map}: {detail}; remove the pin to start afresh"
        )]
        IncompatiblePin {
            /// Map name.
            map: &'static str,
            /// The pin.
            path: PathBuf,
            /// What differs.
            detail: String,
        },
        /// The eBPF object did not load (ELF, BTF or map creation).
        #[error("cannot load the eBPF object: {source}")]
        Load {
            /// aya's error.
            #[source]
            source: Box<aya::EbpfError>,
        },
        /// The object lacks a program this crate expects.
        #[error("the eBPF object has no program {name}")]
        MissingProgram {
            /// Program name.
            name: &'static str,
        },
        /// The object lacks a map this crate expects.
        #[error("the eBPF object has no map {name}")]
        MissingMap {
            /// Map name.
            name: &'static str,
        },
        /// A program could not be loaded (verifier) or used.
        #[error("program {name}: {source}")]
        Program {
            /// Program name.
            name: &'static str,
            /// aya's error (its verifier log included).
            #[source]
            source: Box<aya::programs::ProgramError>,
        },
        /// A map exists but could not be opened as the expected type.
        #[error("map {name}: {source}")]
        MapType {
            /// Map name.
            name: &'static str,
            /// aya's error.
            #[source]
            source: Box<aya::maps::MapError>,
        },
        /// An interface name or index does not resolve.
        #[error("interface {interface}: {source}")]
        Interface {
            /// Name or index as given.
            interface: String,
            /// The lookup error.
            #[source]
            source: io::Error,
        },
        /// Attaching a program to an interface failed with both tcx and netlink.
        #[error("cannot attach {program} to {hook} of interface {interface}: {source}")]
        Attach {
            /// Program name.
            program: &'static str,
            /// `ingress` or `egress`.
            hook: &'static str,
            /// Interface name.
            interface: String,
            /// The (last) attach error.
            #[source]
            source: Box<aya::programs::ProgramError>,
        },
        /// A pinned link could not be created, opened, updated or removed.
        #[error("link pin {path}: {detail}")]
        Link {
            /// The pin.
            path: PathBuf,
            /// What failed.
            detail: String,
        },
        /// A map operation failed.
        #[error(transparent)]
        Map(#[from] MapError),
    }
}
