//! The watch loop of a node in a cluster: one reflector per section (objects, nodes,
//! ipcache, identities) pushes every change; the loop folds whatever has arrived into the
//! agent's view and converges once per batch. Nothing is polled. While the store is
//! unreachable the reflectors report it and the agent keeps enforcing what it last knew;
//! their resync on reconnection brings it in line again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use observe_kvstore::{Section, Store, Update, is_fenced, reflect};
use tokio::sync::mpsc::Receiver;

use super::mirror::Mirror;
use super::status::ClusterStatus;
use crate::agent::Agent;

/// The sections, in the order their mirrors are kept.
const SECTIONS: [Section; 4] = [
    Section::Objects,
    Section::Nodes,
    Section::Ipcache,
    Section::Identities,
];

/// A section's raw items.
type Items = std::collections::BTreeMap<String, Vec<u8>>;

/// How long a failed convergence waits before it is tried again.
const RETRY: Duration = Duration::from_millis(500);

/// Watches the store and keeps the agent in line until the process ends.
pub async fn run(agent: Arc<Mutex<Agent>>, store: Store, status: Arc<ClusterStatus>) {
    let mut rx: [Receiver<Update>; 4] = SECTIONS.map(|s| reflect(store.clone(), s));
    let mut mirrors: [Mirror; 4] = Default::default();
    let mut down = [false; 4];
    let mut dirty = [false; 4];
    let mut failed = false;
    loop {
        // After a failed convergence, try again even if nothing new arrives.
        let wait = if failed { RETRY } else { Duration::MAX };
        match tokio::time::timeout(wait, next(&mut rx)).await {
            Ok(Some((i, update))) => fold(i, update, &mut mirrors, &mut down, &mut dirty, &status),
            Ok(None) => return,
            Err(_) => {}
        }
        // Whatever else has arrived joins this batch.
        for (i, r) in rx.iter_mut().enumerate() {
            while let Ok(update) = r.try_recv() {
                fold(i, update, &mut mirrors, &mut down, &mut dirty, &status);
            }
        }
        if down.iter().any(|d| *d) || !mirrors.iter().all(|m| m.synced) {
            // Converging on a half-known cluster would drop what is still true.
            continue;
        }
        if is_fenced(&mirrors[0].items) {
            // A commit too large for one transaction is half-written: enforce all of it
            // or none, so wait for the writer's last transaction (or its fence's lease).
            continue;
        }
        if !dirty.iter().any(|d| *d) && !failed {
            // Back after an outage with nothing missed.
            status.up();
            continue;
        }
        let batch: Vec<(usize, Arc<Items>)> = (0..4)
            .filter(|i| dirty[*i])
            .map(|i| (i, Arc::clone(&mirrors[i].items)))
            .collect();
        dirty = [false; 4];
        let revision = mirrors[0].revision;
        let agent = agent.clone();
        let converged = tokio::task::spawn_blocking(move || {
            let mut a = agent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(link) = a.cluster.as_mut() {
                for (i, items) in &batch {
                    let items = items.iter();
                    match i {
                        0 => link.view.set_objects(items),
                        1 => link.view.set_nodes(items),
                        2 => link.view.set_ipcache(items),
                        _ => link.view.set_identities(items),
                    }
                }
                link.status.set_nodes(link.view.nodes.len());
                for (key, why) in &link.view.rejected {
                    tracing::warn!("kvstore value skipped: {key}: {why}");
                }
            }
            a.converge()
        })
        .await;
        match converged {
            Ok(Ok(())) => {
                failed = false;
                status.up();
                status.applied(revision);
            }
            Ok(Err(e)) => {
                failed = true;
                tracing::warn!("cannot enforce the cluster's state yet: {e:#}");
            }
            Err(e) => {
                failed = true;
                tracing::error!("the convergence task failed: {e}");
            }
        }
    }
}

/// The next update of any section, with its index; `None` when every reflector ended.
async fn next(rx: &mut [Receiver<Update>; 4]) -> Option<(usize, Update)> {
    let [objects, nodes, ipcache, identities] = rx;
    tokio::select! {
        Some(u) = objects.recv() => Some((0, u)),
        Some(u) = nodes.recv() => Some((1, u)),
        Some(u) = ipcache.recv() => Some((2, u)),
        Some(u) = identities.recv() => Some((3, u)),
        else => None,
    }
}

fn fold(
    i: usize,
    update: Update,
    mirrors: &mut [Mirror; 4],
    down: &mut [bool; 4],
    dirty: &mut [bool; 4],
    status: &ClusterStatus,
) {
    if let Update::Down { error } = &update {
        down[i] = true;
        status.down(error);
        return;
    }
    down[i] = false;
    dirty[i] |= mirrors[i].apply(update);
}
