//! The crate's single error type, [`LabError`]. Every fallible function in the crate returns it;
//! nothing here logs or decides what is fatal, callers do. Failures of the namespace plumbing
//! underneath (commands, `setns`, sysctls) arrive wrapped as [`LabError::Plumbing`].

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use ipnet::{IpNet, Ipv4Net};
use observe_plumbing::PlumbingError;

use crate::endpoint::Role;

/// Why building, changing or probing a lab failed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A tag, node, pod or directory name cannot be used in a namespace or file name, or a
    /// name given to the DNS helpers is not a DNS name.
    #[error("invalid name `{name}`: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A node or pod with this name already exists in the lab.
    #[error("`{name}` already exists in lab {prefix}")]
    DuplicateName {
        /// The name as given.
        name: String,
        /// The lab's prefix.
        prefix: String,
    },
    /// Another endpoint of the lab already owns this address.
    #[error("address {addr} is already owned by `{owner}`")]
    DuplicateAddress {
        /// The address as given.
        addr: IpAddr,
        /// The endpoint that owns it.
        owner: String,
    },
    /// The address lies outside the ranges the lab allows for this role (see the safety rules).
    #[error("address {addr} is not allowed for a {role}: use {allowed}")]
    AddressNotAllowed {
        /// The address as given.
        addr: IpAddr,
        /// The role it was requested for.
        role: Role,
        /// The ranges that are allowed.
        allowed: &'static str,
    },
    /// The node was not created by this lab.
    #[error("node `{0}` does not belong to this lab")]
    UnknownNode(String),
    /// The pod was not created by this lab, or was already removed.
    #[error("pod `{0}` does not belong to this lab")]
    UnknownPod(String),
    /// `connect_nodes` was asked to connect a node to itself or a pair twice.
    #[error("cannot connect `{a}` and `{b}`: {reason}")]
    InvalidNodeLink {
        /// One node's name.
        a: String,
        /// The other node's name.
        b: String,
        /// Why not.
        reason: &'static str,
    },
    /// Every node-link subnet of the lab is in use.
    #[error("no free node-link subnet left (at most {max} links per lab)")]
    NodeLinksExhausted {
        /// How many node links a lab can have.
        max: usize,
    },
    /// `join_underlay` was given a node that is already on the underlay.
    #[error("node `{0}` has already joined the underlay")]
    AlreadyOnUnderlay(String),
    /// Every underlay address is taken.
    #[error("no free underlay address left in {net} (at most {max} nodes and hosts per lab)")]
    UnderlayExhausted {
        /// The underlay subnet.
        net: Ipv4Net,
        /// How many nodes and service hosts an underlay can have.
        max: usize,
    },
    /// A pod CIDR given to `join_underlay` is malformed or outside the pod ranges.
    #[error("pod CIDR {cidr} of `{node}` is not allowed: {reason}")]
    InvalidPodCidr {
        /// The node's name.
        node: String,
        /// The CIDR as given.
        cidr: IpNet,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A pod CIDR given to `join_underlay` overlaps one of a node already on the underlay.
    #[error("pod CIDR {cidr} of `{node}` overlaps {other_cidr} of `{other}`")]
    OverlappingPodCidr {
        /// The joining node's name.
        node: String,
        /// Its CIDR, as given.
        cidr: IpNet,
        /// The node already on the underlay.
        other: String,
        /// That node's CIDR.
        other_cidr: IpNet,
    },
    /// No unused run prefix was found; another run may be creating prefixes in a tight loop.
    #[error("could not reserve a unique run prefix after {attempts} attempts")]
    PrefixExhausted {
        /// How many prefixes were tried.
        attempts: u32,
    },
    /// Creating, wiring, entering or inspecting a namespace failed.
    #[error(transparent)]
    Plumbing(#[from] PlumbingError),
    /// A file system operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path operated on.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A server socket could not be bound inside its namespace.
    #[error("failed to bind {addr} in `{netns}`: {source}")]
    Bind {
        /// The namespace.
        netns: String,
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: io::Error,
    },
}

impl LabError {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> LabError {
        LabError::Io {
            path: path.into(),
            source,
        }
    }
}
