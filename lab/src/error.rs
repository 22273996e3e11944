//! The crate's single error type, [`LabError`]. Every fallible function in the crate returns it;
//! nothing here logs or decides what is fatal, callers do.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitStatus;

use crate::endpoint::Role;

/// Why building, changing or probing a lab failed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A tag, node, pod or directory name cannot be used in a namespace or file name.
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
    /// No unused run prefix was found; another run may be creating prefixes in a tight loop.
    #[error("could not reserve a unique run prefix after {attempts} attempts")]
    PrefixExhausted {
        /// How many prefixes were tried.
        attempts: u32,
    },
    /// An external program could not be started.
    #[error("failed to start `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why it did not start.
        source: io::Error,
    },
    /// An external program ran and reported failure.
    #[error("`{command}` failed ({status}): {stderr}")]
    CommandFailed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// Its standard error, trimmed.
        stderr: String,
    },
    /// The namespace's file under `/var/run/netns` could not be opened.
    #[error("failed to open network namespace `{netns}`: {source}")]
    OpenNetns {
        /// The namespace name.
        netns: String,
        /// The open error.
        source: io::Error,
    },
    /// `setns(2)` into the namespace failed.
    #[error("failed to enter network namespace `{netns}`: {source}")]
    EnterNetns {
        /// The namespace name.
        netns: String,
        /// The `setns` error.
        source: io::Error,
    },
    /// A helper thread could not be started.
    #[error("failed to start a thread: {0}")]
    Thread(#[source] io::Error),
    /// A helper thread ended before reporting whether it started.
    #[error("a helper thread in `{netns}` ended before it reported")]
    HelperGone {
        /// The namespace the thread was meant to run in.
        netns: String,
    },
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
    /// The interface does not exist in the namespace.
    #[error("interface `{ifname}` not found in `{netns}`")]
    NoSuchInterface {
        /// The namespace.
        netns: String,
        /// The interface name.
        ifname: String,
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
