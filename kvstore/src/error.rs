//! The crate's single error type, [`Error`]. Every fallible function returns it; nothing here
//! decides what is fatal. Errors name what they are about: the `--kvstore` value, the
//! endpoints, the operation, the key.

use std::path::PathBuf;
use std::time::Duration;

/// Why talking to the cluster store failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `--kvstore` value is not `etcd://HOST:PORT[,HOST:PORT...]` or `etcds://...`.
    #[error("invalid kvstore URL `{value}`: {reason}")]
    InvalidUrl {
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A TLS file cannot be read.
    #[error("cannot read TLS file {}: {source}", path.display())]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The TLS settings are incomplete or contradictory.
    #[error("invalid TLS settings: {0}")]
    TlsConfig(&'static str),
    /// No endpoint answered within the connect timeout (or answered with an error).
    #[error("etcd at {endpoints} is unreachable: {reason}")]
    Unreachable {
        /// The endpoints tried, comma-separated.
        endpoints: String,
        /// What happened.
        reason: String,
    },
    /// etcd answered an operation with an error (or the connection failed during it).
    #[error("etcd {op} failed: {source}")]
    Etcd {
        /// The operation, e.g. `commit` or `list nodes/`.
        op: String,
        /// The client's error.
        source: etcd_client::Error,
    },
    /// An operation did not finish in time.
    #[error("etcd {op} timed out after {after:?}")]
    Timeout {
        /// The operation.
        op: String,
        /// How long it was given.
        after: Duration,
    },
    /// A response lacked something etcd always sends (e.g. the header with the revision).
    #[error("etcd {op}: malformed response: {what}")]
    Malformed {
        /// The operation.
        op: String,
        /// What was missing or wrong.
        what: &'static str,
    },
    /// etcd cancelled a watch (its start revision was compacted, or the server ended it).
    #[error("watch of {section} cancelled: {reason}")]
    WatchCancelled {
        /// The section watched.
        section: String,
        /// etcd's reason, or the compaction revision.
        reason: String,
    },
    /// The publisher's lease is gone (expired or revoked); it grants a new one.
    #[error("lease {lease:x} is gone (expired or revoked)")]
    LeaseLost {
        /// The lease id.
        lease: i64,
    },
    /// A commit names the same key twice (etcd rejects such a transaction).
    #[error("commit names key `{key}` more than once")]
    DuplicateKey {
        /// The key, relative to its section.
        key: String,
    },
    /// A value stored in etcd is not what this crate wrote there.
    #[error("bad value at `{key}`: {reason}")]
    InvalidValue {
        /// The full key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A caller-supplied argument cannot be used (empty labels, empty range…).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// No free identity was found for the labels within the attempts allowed.
    #[error("no free identity in {range} for `{labels}` after {attempts} attempts")]
    Exhausted {
        /// The label set.
        labels: String,
        /// The range searched, `first..=last`.
        range: String,
        /// How many numbers were tried.
        attempts: u32,
    },
    /// The publisher's background task has ended.
    #[error("the publisher has stopped")]
    Stopped,
}

impl Error {
    /// Wraps a client error with the operation it happened in.
    pub(crate) fn etcd(op: impl Into<String>, source: etcd_client::Error) -> Error {
        Error::Etcd {
            op: op.into(),
            source,
        }
    }
}
