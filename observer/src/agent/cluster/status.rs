//! [`ClusterStatus`]: what a node in a cluster knows about its store, shared by the watch
//! loop (which writes it) and the control API, `observe get nodes` and the log (which read
//! it): whether the watches are up, the last error, and the objects revision this node
//! enforces (what `observe apply` waits for).

use std::sync::Mutex;

use tokio::sync::watch;

/// The store as this node sees it.
#[derive(Debug)]
pub struct ClusterStatus {
    /// `--kvstore` as given.
    pub url: String,
    state: Mutex<State>,
    applied: watch::Sender<i64>,
}

/// A copy of the state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// Whether every watch is up.
    pub connected: bool,
    /// The last error a watch or request met, while it lasts.
    pub last_error: Option<String>,
    /// Since when the store has been unreachable.
    pub down_since: Option<std::time::SystemTime>,
    /// Times the store became unreachable.
    pub outages: u64,
    /// Registered nodes, as of the last convergence.
    pub nodes: u64,
}

impl ClusterStatus {
    /// Not connected yet.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_string(),
            state: Mutex::new(State::default()),
            applied: watch::Sender::new(0),
        }
    }

    /// A copy of the current state.
    pub fn state(&self) -> State {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The watches are up.
    pub fn up(&self) {
        let mut s = self.lock();
        if !s.connected {
            tracing::info!(url = %self.url, "kvstore connected");
        }
        s.connected = true;
        s.last_error = None;
        s.down_since = None;
    }

    /// A watch or request failed: enforcement goes on with the last-known state.
    pub fn down(&self, error: &str) {
        let mut s = self.lock();
        if s.connected || s.down_since.is_none() {
            tracing::warn!(url = %self.url, "kvstore unreachable, enforcing the last-known state: {error}");
            s.down_since = Some(std::time::SystemTime::now());
            s.outages += 1;
        }
        s.connected = false;
        s.last_error = Some(error.to_string());
    }

    /// How many nodes are registered.
    pub fn set_nodes(&self, nodes: usize) {
        self.lock().nodes = u64::try_from(nodes).unwrap_or(u64::MAX);
    }

    /// This node now enforces the objects at `revision`.
    pub fn applied(&self, revision: i64) {
        self.applied.send_if_modified(|r| {
            let newer = revision > *r;
            *r = (*r).max(revision);
            newer
        });
    }

    /// What the metrics show.
    pub fn reading(&self) -> crate::metrics::KvstoreReading {
        let s = self.state();
        crate::metrics::KvstoreReading {
            connected: s.connected,
            revision: *self.applied.borrow(),
            outages: s.outages,
            nodes: s.nodes,
        }
    }

    /// The objects revision this node enforces, to wait on.
    pub fn applied_revision(&self) -> watch::Receiver<i64> {
        self.applied.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_keeps_the_first_time_and_up_clears_it() {
        let s = ClusterStatus::new("etcd://x:1");
        s.down("refused");
        let since = s.state().down_since;
        s.down("refused again");
        assert_eq!(s.state().down_since, since);
        assert_eq!(s.state().last_error.as_deref(), Some("refused again"));
        s.up();
        assert_eq!(
            s.state(),
            State {
                connected: true,
                outages: 1,
                ..State::default()
            }
        );
        let rx = s.applied_revision();
        s.applied(7);
        s.applied(3);
        assert_eq!(*rx.borrow(), 7);
    }
}
