//! [`reflect`]: a replicated view of one section, kept by a background task and delivered
//! as [`Update`]s. The task lists the section, sends a [`Update::Resync`], then watches from
//! the next revision and sends one [`Update::Changes`] per watch response. On any error (etcd
//! down, watch cancelled or compacted) it sends [`Update::Down`] once, retries with backoff,
//! and on reconnecting lists again and sends a new `Resync`, which replaces everything the
//! receiver knew: that is how deletes missed while down are reconciled.

use std::collections::BTreeMap;

use etcd_client::{EventType, WatchOptions, WatchResponse, WatchStream};
use tokio::sync::mpsc;

use crate::backoff::Backoff;
use crate::error::Error;
use crate::keys::prefix_end;
use crate::section::Section;
use crate::store::{Store, revision_of};

/// How many updates may wait for the receiver before the task waits for it.
const QUEUE: usize = 64;

/// What the reflector tells its receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The whole section at `revision`: replaces everything known before.
    Resync {
        /// The revision listed at.
        revision: i64,
        /// Values by key relative to the section.
        items: BTreeMap<String, Vec<u8>>,
    },
    /// Changes after the last update, in revision order (one etcd watch response).
    Changes {
        /// The revision of the watch response.
        revision: i64,
        /// Key relative to the section and new value; `None` = deleted.
        changes: Vec<(String, Option<Vec<u8>>)>,
    },
    /// The view stopped following etcd (sent once per outage); a `Resync` follows when it
    /// is back. Until then the receiver should keep using what it has.
    Down {
        /// Why.
        error: String,
    },
}

/// Starts a reflector of `section` on the current tokio runtime. The task ends when the
/// receiver is dropped.
///
/// # Panics
///
/// Outside a tokio runtime (like `tokio::spawn`).
pub fn reflect(store: Store, section: Section) -> mpsc::Receiver<Update> {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(run(store, section, tx));
    rx
}

/// Why a session ended without an error.
struct ReceiverGone;

async fn run(store: Store, section: Section, tx: mpsc::Sender<Update>) {
    let mut backoff = Backoff::new();
    let mut down = false;
    loop {
        let error = match session(&store, section, &tx, &mut backoff, &mut down).await {
            Ok(ReceiverGone) => return,
            Err(e) => e,
        };
        if !down {
            down = true;
            tracing::warn!(%section, %error, "kvstore: reflector down");
            let update = Update::Down {
                error: error.to_string(),
            };
            if tx.send(update).await.is_err() {
                return;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff.next_delay()) => {}
            () = tx.closed() => return,
        }
    }
}

/// Lists, sends the `Resync`, then follows the watch until an error.
async fn session(
    store: &Store,
    section: Section,
    tx: &mpsc::Sender<Update>,
    backoff: &mut Backoff,
    down: &mut bool,
) -> Result<ReceiverGone, Error> {
    let listing = store.list(section).await?;
    let mut watch = open_watch(store, section, listing.revision + 1).await?;
    let resync = Update::Resync {
        revision: listing.revision,
        items: listing.items,
    };
    if tx.send(resync).await.is_err() {
        return Ok(ReceiverGone);
    }
    backoff.reset();
    *down = false;
    loop {
        let message = tokio::select! {
            m = watch.message() => m,
            () = tx.closed() => return Ok(ReceiverGone),
        };
        let op = || format!("watch {section}");
        let resp = message
            .map_err(|e| Error::etcd(op(), e))?
            .ok_or_else(|| Error::Malformed {
                op: op(),
                what: "watch stream ended",
            })?;
        if let Some(update) = to_update(store, section, &resp)?
            && tx.send(update).await.is_err()
        {
            return Ok(ReceiverGone);
        }
    }
}

/// Opens a watch of the section from `start` and waits for etcd to confirm it.
async fn open_watch(store: &Store, section: Section, start: i64) -> Result<WatchStream, Error> {
    let prefix = store.full_key(section, "");
    let options = WatchOptions::new()
        .with_range(prefix_end(&prefix))
        .with_start_revision(start);
    let mut client = store.client().watch_client();
    let op = || format!("watch {section}");
    let mut stream = store
        .timed(&op, client.watch(prefix.clone(), Some(options)))
        .await?;
    let created = store.timed(&op, stream.message()).await?;
    match created {
        Some(resp) if resp.created() && !resp.canceled() => Ok(stream),
        Some(resp) => Err(cancelled(section, &resp)),
        None => Err(Error::Malformed {
            op: op(),
            what: "watch stream ended",
        }),
    }
}

/// The update for one watch response; `None` for one without events (progress notices).
fn to_update(
    store: &Store,
    section: Section,
    resp: &WatchResponse,
) -> Result<Option<Update>, Error> {
    if resp.canceled() || resp.compact_revision() > 0 {
        return Err(cancelled(section, resp));
    }
    if resp.events().is_empty() {
        return Ok(None);
    }
    let revision = revision_of(resp.header(), || format!("watch {section}"))?;
    let mut changes = Vec::with_capacity(resp.events().len());
    let mut skipped = 0usize;
    for event in resp.events() {
        let Some(kv) = event.kv() else {
            skipped += 1;
            continue;
        };
        let Some(key) = store.keys().relative(section, kv.key()) else {
            skipped += 1;
            continue;
        };
        let value = match event.event_type() {
            EventType::Put => Some(kv.value().to_vec()),
            EventType::Delete => None,
        };
        changes.push((key, value));
    }
    if skipped > 0 {
        tracing::warn!(%section, skipped, "kvstore: reflector skipped events without a UTF-8 key");
    }
    Ok(Some(Update::Changes { revision, changes }))
}

/// The error for a cancelled watch (compaction past the start revision, or server side).
fn cancelled(section: Section, resp: &WatchResponse) -> Error {
    let reason = match resp.compact_revision() {
        0 => format!("watch cancelled: {}", resp.cancel_reason()),
        rev => format!("watch start revision compacted (compacted up to {rev})"),
    };
    Error::WatchCancelled {
        section: section.to_string(),
        reason,
    }
}
