//! The publisher's background task: one loop that takes commands, holds a lease (grant,
//! keep-alive every third of its TTL, re-grant when lost), writes the dirty keys in
//! transactions of at most [`BATCH`] operations, and retries with backoff after errors.
//!
//! The lease counts as lost when etcd says so (keep-alive TTL 0, "lease not found" on a
//! write) or when no keep-alive succeeded for a whole TTL (etcd down longer than the TTL:
//! its keys may be gone). A new lease means every desired key is written again.

use std::time::Duration;

use etcd_client::{LeaseKeepAliveStream, LeaseKeeper, PutOptions, Txn, TxnOp};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::desired::{Desired, Write};
use super::{Command, PublisherState};
use crate::backoff::Backoff;
use crate::error::Error;
use crate::store::{Store, revision_of};

/// Operations per write transaction (etcd's default limit is 128).
const BATCH: usize = 100;

/// The lease held, and its keep-alive stream while open.
struct Lease {
    id: i64,
    ttl: Duration,
    stream: Option<(LeaseKeeper, LeaseKeepAliveStream)>,
    last_ok: Instant,
    next_keepalive: Instant,
}

pub(super) struct Task {
    store: Store,
    ttl: Duration,
    rx: mpsc::UnboundedReceiver<Command>,
    state: watch::Sender<PublisherState>,
    desired: Desired,
    lease: Option<Lease>,
    backoff: Backoff,
    /// Set after an error: when to try again.
    retry_at: Option<Instant>,
    flushes: Vec<oneshot::Sender<()>>,
    synced_revision: i64,
    last_error: Option<String>,
}

/// What ends the loop.
enum Exit {
    Stop(oneshot::Sender<()>),
    HandlesGone,
}

impl Task {
    pub(super) fn new(
        store: Store,
        ttl: Duration,
        rx: mpsc::UnboundedReceiver<Command>,
        state: watch::Sender<PublisherState>,
    ) -> Task {
        Task {
            store,
            ttl: ttl.max(Duration::from_secs(1)),
            rx,
            state,
            desired: Desired::default(),
            lease: None,
            backoff: Backoff::new(),
            retry_at: None,
            flushes: Vec::new(),
            synced_revision: 0,
            last_error: None,
        }
    }

    pub(super) async fn run(mut self) {
        let exit = loop {
            if let Some(exit) = self.drain_commands() {
                break exit;
            }
            if self.work_due() {
                match self.work().await {
                    Ok(()) => self.succeeded(),
                    Err(e) => self.failed(e),
                }
            }
            self.publish_state();
            self.answer_flushes();
            let wake = self.next_wake();
            tokio::select! {
                command = self.rx.recv() => match command {
                    None => break Exit::HandlesGone,
                    Some(command) => if let Some(exit) = self.apply(command) { break exit },
                },
                () = sleep_until(wake) => {}
            }
        };
        if let Exit::Stop(reply) = exit {
            self.revoke().await;
            let _ = reply.send(());
        }
    }

    /// Applies every queued command without waiting.
    fn drain_commands(&mut self) -> Option<Exit> {
        loop {
            match self.rx.try_recv() {
                Ok(command) => {
                    if let Some(exit) = self.apply(command) {
                        return Some(exit);
                    }
                }
                Err(mpsc::error::TryRecvError::Empty) => return None,
                Err(mpsc::error::TryRecvError::Disconnected) => return Some(Exit::HandlesGone),
            }
        }
    }

    fn apply(&mut self, command: Command) -> Option<Exit> {
        match command {
            Command::Set(key, value) => self.desired.set(key, value),
            Command::Remove(key) => self.desired.remove(key),
            Command::Flush(reply) => self.flushes.push(reply),
            Command::Stop(reply) => return Some(Exit::Stop(reply)),
        }
        None
    }

    /// Whether there is something to do now.
    fn work_due(&self) -> bool {
        let now = Instant::now();
        match self.retry_at {
            Some(at) => now >= at,
            None => {
                self.lease.as_ref().is_none_or(|l| now >= l.next_keepalive)
                    || self.desired.pending() > 0
            }
        }
    }

    /// When to look again if no command arrives.
    fn next_wake(&self) -> Option<Instant> {
        if let Some(at) = self.retry_at {
            return Some(at);
        }
        let keepalive = self.lease.as_ref().map(|l| l.next_keepalive);
        if self.lease.is_none() || self.desired.pending() > 0 {
            return Some(Instant::now());
        }
        keepalive
    }

    /// Ensures a lease, keeps it alive when due (or after an error), writes what is dirty.
    async fn work(&mut self) -> Result<(), Error> {
        let retrying = self.retry_at.is_some();
        if self.lease.is_none() {
            self.grant().await?;
        } else if retrying
            || self
                .lease
                .as_ref()
                .is_some_and(|l| Instant::now() >= l.next_keepalive)
        {
            self.keep_alive().await?;
        }
        self.write_dirty().await
    }

    async fn grant(&mut self) -> Result<(), Error> {
        let secs = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        let mut client = self.store.client().lease_client();
        let resp = self
            .store
            .timed(&|| "lease grant".to_owned(), client.grant(secs, None))
            .await?;
        let granted = u64::try_from(resp.ttl()).unwrap_or(0).max(1);
        let ttl = Duration::from_secs(granted);
        let now = Instant::now();
        tracing::info!(lease = resp.id(), ?ttl, "kvstore: publisher lease granted");
        self.lease = Some(Lease {
            id: resp.id(),
            ttl,
            stream: None,
            last_ok: now,
            next_keepalive: now + ttl / 3,
        });
        self.desired.mark_all();
        Ok(())
    }

    /// One keep-alive round trip; drops the lease when etcd says it is gone or when none
    /// succeeded for a whole TTL.
    async fn keep_alive(&mut self) -> Result<(), Error> {
        let Some(lease) = self.lease.as_mut() else {
            return Ok(());
        };
        match keep_alive_once(&self.store, lease).await {
            Ok(ttl) if ttl > 0 => {
                let now = Instant::now();
                lease.last_ok = now;
                lease.next_keepalive = now + lease.ttl / 3;
                Ok(())
            }
            Ok(_) => Err(self.lease_lost()),
            Err(e) => {
                lease.stream = None;
                if lease.last_ok.elapsed() > lease.ttl {
                    self.lease_lost();
                }
                Err(e)
            }
        }
    }

    /// Forgets the lease (the next pass grants a new one) and returns the error saying so.
    fn lease_lost(&mut self) -> Error {
        let lease = self.lease.take().map_or(0, |l| l.id);
        tracing::warn!(lease, "kvstore: publisher lease lost; granting a new one");
        Error::LeaseLost { lease }
    }

    /// Writes every dirty key, [`BATCH`] at a time.
    async fn write_dirty(&mut self) -> Result<(), Error> {
        while self.desired.pending() > 0 {
            let Some(lease) = self.lease.as_ref().map(|l| l.id) else {
                return Ok(());
            };
            let batch = self.desired.batch(BATCH);
            match write_batch(&self.store, lease, &batch).await {
                Ok(revision) => {
                    self.desired.written(&batch);
                    self.synced_revision = revision;
                }
                Err(e) if is_lease_not_found(&e) => return Err(self.lease_lost()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn revoke(&mut self) {
        if let Some(lease) = self.lease.take() {
            let mut client = self.store.client().lease_client();
            let op = || format!("lease revoke {:x}", lease.id);
            if let Err(e) = self.store.timed(&op, client.revoke(lease.id)).await {
                tracing::warn!(error = %e, "kvstore: publisher could not revoke its lease");
            }
        }
        self.publish_state();
    }

    fn succeeded(&mut self) {
        self.retry_at = None;
        self.last_error = None;
        self.backoff.reset();
        self.set_connected(true);
    }

    fn failed(&mut self, error: Error) {
        tracing::warn!(%error, "kvstore: publisher write failed; retrying");
        self.retry_at = Some(Instant::now() + self.backoff.next_delay());
        // A lost lease is etcd answering: we are connected, and re-grant at once.
        let connected = matches!(error, Error::LeaseLost { .. });
        if connected {
            self.retry_at = Some(Instant::now());
        }
        self.last_error = Some(error.to_string());
        self.set_connected(connected);
    }

    fn set_connected(&mut self, connected: bool) {
        self.state.send_if_modified(|s| {
            let changed = s.connected != connected;
            s.connected = connected;
            changed
        });
    }

    fn publish_state(&mut self) {
        let next = PublisherState {
            connected: self.state.borrow().connected,
            lease: self.lease.as_ref().map(|l| l.id),
            pending: self.desired.pending(),
            last_error: self.last_error.clone(),
            synced_revision: self.synced_revision,
        };
        self.state.send_if_modified(|s| {
            let changed = *s != next;
            *s = next;
            changed
        });
    }

    /// Answers the flushes once everything is written under a live lease.
    fn answer_flushes(&mut self) {
        if self.desired.pending() == 0 && self.lease.is_some() && self.retry_at.is_none() {
            for reply in self.flushes.drain(..) {
                let _ = reply.send(());
            }
        }
    }
}

/// Sends one keep-alive (opening the stream first if needed) and returns the TTL etcd
/// answers with (0: the lease is gone).
async fn keep_alive_once(store: &Store, lease: &mut Lease) -> Result<i64, Error> {
    let op = || format!("lease keep-alive {:x}", lease.id);
    if lease.stream.is_none() {
        let mut client = store.client().lease_client();
        lease.stream = Some(store.timed(&op, client.keep_alive(lease.id)).await?);
    }
    let Some((keeper, stream)) = lease.stream.as_mut() else {
        return Ok(0);
    };
    store.timed(&op, keeper.keep_alive()).await?;
    match store.timed(&op, stream.message()).await? {
        Some(resp) => Ok(resp.ttl()),
        None => Err(Error::Malformed {
            op: op(),
            what: "keep-alive stream ended",
        }),
    }
}

/// Puts (with the lease) and deletes one batch in a transaction; returns its revision.
async fn write_batch(store: &Store, lease: i64, batch: &[Write]) -> Result<i64, Error> {
    let ops: Vec<TxnOp> = batch
        .iter()
        .map(|(key, value)| match value {
            Some(v) => TxnOp::put(
                key.as_str(),
                v.as_slice(),
                Some(PutOptions::new().with_lease(lease)),
            ),
            None => TxnOp::delete(key.as_str(), None),
        })
        .collect();
    let op = || "publish".to_owned();
    let resp = store.txn(op, Txn::new().and_then(ops)).await?;
    revision_of(resp.header(), op)
}

/// Whether etcd refused a write because the lease does not exist.
fn is_lease_not_found(error: &Error) -> bool {
    match error {
        Error::Etcd {
            source: etcd_client::Error::GRpcStatus(status),
            ..
        } => status.message().contains("lease not found"),
        _ => false,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
