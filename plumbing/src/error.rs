//! The crate's single error type, [`PlumbingError`]. Every fallible function in the crate
//! returns it; nothing here logs or decides what is fatal, callers do.

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitStatus;

/// Why creating, wiring, entering or inspecting a namespace failed.
#[derive(Debug, thiserror::Error)]
pub enum PlumbingError {
    /// A created endpoint asked for an address outside the pod ranges.
    #[error("address {addr} is not allowed for a pod: use {allowed}")]
    AddressNotAllowed {
        /// The address as given.
        addr: IpAddr,
        /// The ranges that are allowed.
        allowed: &'static str,
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
    /// A file system operation failed (a sysctl, a mount table).
    #[error("{}: {source}", path.display())]
    Io {
        /// The path operated on.
        path: PathBuf,
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

impl PlumbingError {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> PlumbingError {
        PlumbingError::Io {
            path: path.into(),
            source,
        }
    }
}
