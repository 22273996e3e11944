//! Pod identity numbers shared by the cluster: the numbers the engine chose without the
//! cluster's word are allocated in the store (the local choice is offered first, so a
//! label set the cluster does not know yet keeps its number), and identities no node uses
//! are collected after a grace period by a background pass any node may run (the store's
//! guarded transactions make concurrent passes and allocations safe).

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use enforcer::identity::Unconfirmed;
use observe_kvstore::{Store, UnusedSince};

use super::Link;

/// Pod identities: the cluster scope of the identity table.
pub const CLUSTER_RANGE: RangeInclusive<u32> = 256..=65535;

impl Link {
    /// Has the store allocate every unconfirmed identity; returns whether any number the
    /// cluster gave differs from the local one (the engine must then be rebuilt with them).
    ///
    /// # Errors
    ///
    /// The store did not answer: nothing changes, the caller rolls back.
    pub(super) fn confirm(&mut self, unconfirmed: &[Unconfirmed]) -> Result<bool> {
        let mut ids = (*self.ids).clone();
        let mut disagree = false;
        for u in unconfirmed {
            let id = self.block_on(
                &format!("cannot allocate an identity for {}", u.labels),
                self.store
                    .allocate_identity(&u.labels, u.local, CLUSTER_RANGE),
            )?;
            ids.insert(u.labels.clone(), id);
            disagree |= id != u.local;
        }
        // The watch brings the same numbers back; until then the view must not undo them.
        self.view.ids = ids.clone();
        self.ids = Arc::new(ids);
        Ok(disagree)
    }
}

/// Collects unused identities every `grace / 4` (at least every 5 s) until the process
/// ends; failed passes are logged and retried.
pub async fn collect(store: Store, grace: Duration) {
    let period = (grace / 4).max(Duration::from_secs(5));
    let mut seen = UnusedSince::default();
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        match store.collect_identities(grace, &mut seen).await {
            Ok(ids) if !ids.is_empty() => tracing::info!(?ids, "collected unused identities"),
            Ok(_) => {}
            Err(e) => tracing::debug!("identity collection skipped: {e}"),
        }
    }
}
