//! [`Publisher`]: the keys this node owns under its lease (node registration, its ipcache
//! entries, its identity users), kept true by a background task. `set` and `remove` change
//! the desired state and return at once; the task (in `task.rs`) grants a lease, keeps it
//! alive, writes the desired keys with it, retries failed writes, and after losing the lease
//! grants a new one and writes everything again. [`Publisher::stop`] revokes the lease, so
//! every key vanishes at once (a clean shutdown); dropping every handle without `stop`
//! leaves the keys to expire with the lease (like a crash).

mod desired;
mod task;

use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::error::Error;
use crate::section::Section;
use crate::store::Store;

/// What the publisher's task reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublisherState {
    /// Whether the last etcd request succeeded.
    pub connected: bool,
    /// The lease the keys are written with, while one is held.
    pub lease: Option<i64>,
    /// How many keys are not yet known to be written (or deleted).
    pub pending: usize,
    /// The last error, until the next success.
    pub last_error: Option<String>,
    /// The revision of the last successful write.
    pub synced_revision: i64,
}

/// A request to the task.
#[derive(Debug)]
enum Command {
    Set(String, Vec<u8>),
    Remove(String),
    Flush(oneshot::Sender<()>),
    Stop(oneshot::Sender<()>),
}

/// A cheap handle to the publishing task.
#[derive(Debug, Clone)]
pub struct Publisher {
    store: Store,
    tx: mpsc::UnboundedSender<Command>,
    state: watch::Receiver<PublisherState>,
}

impl Publisher {
    /// Starts the task on the current tokio runtime with a lease of `ttl` (whole seconds,
    /// at least 1; etcd may grant more), kept alive every third of it.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (like `tokio::spawn`).
    pub fn start(store: Store, ttl: Duration) -> Publisher {
        let (tx, rx) = mpsc::unbounded_channel();
        let (state_tx, state) = watch::channel(PublisherState::default());
        tokio::spawn(task::Task::new(store.clone(), ttl, rx, state_tx).run());
        Publisher { store, tx, state }
    }

    /// `key` of `section` should hold `value` (under the lease).
    pub fn set(&self, section: Section, key: String, value: Vec<u8>) {
        let full = self.store.full_key(section, &key);
        let _ = self.tx.send(Command::Set(full, value));
    }

    /// `key` of `section` should not exist.
    pub fn remove(&self, section: Section, key: &str) {
        let full = self.store.full_key(section, key);
        let _ = self.tx.send(Command::Remove(full));
    }

    /// The task's state, updated as it changes.
    pub fn state(&self) -> watch::Receiver<PublisherState> {
        self.state.clone()
    }

    /// Waits until every key set or removed so far is written under a live lease.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when that takes longer than `timeout`; [`Error::Stopped`] when
    /// the publisher stopped.
    pub async fn flush(&self, timeout: Duration) -> Result<(), Error> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Command::Flush(reply))
            .map_err(|_| Error::Stopped)?;
        match tokio::time::timeout(timeout, done).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Error::Stopped),
            Err(_) => Err(Error::Timeout {
                op: "publisher flush".into(),
                after: timeout,
            }),
        }
    }

    /// Revokes the lease (every key vanishes at once) and ends the task; other handles'
    /// calls do nothing after that. Waits at most the request timeout for etcd.
    pub async fn stop(self) {
        let (reply, done) = oneshot::channel();
        if self.tx.send(Command::Stop(reply)).is_ok() {
            let _ = done.await;
        }
    }
}
