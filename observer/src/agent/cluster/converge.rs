//! The agent brought in line with the cluster's [`super::View`]: the difference between
//! the objects it enforces and the ones it should goes through the engine (atomically: a
//! failed change restores the engine), with every pod identity number confirmed by the
//! cluster before the datapath sees it; then endpoints, maps, the saved state and this
//! node's published keys follow, as for a local change.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow};
use enforcer::engine::{Engine, ObjectKey};
use enforcer::manifest::Object;

use crate::agent::Agent;

/// How many times a change may meet numbers the cluster gave differently.
const REBUILDS: usize = 3;

impl Agent {
    /// Applies the cluster's current view; nothing to do when it matches.
    ///
    /// # Errors
    ///
    /// The engine refused the objects, the store did not answer an identity request, or
    /// the endpoints or maps could not follow; the engine is restored then.
    pub fn converge(&mut self) -> Result<()> {
        let Some(link) = &self.cluster else {
            return Ok(());
        };
        let desired = link.view.desired(&self.node, &self.objects);
        let ids_changed = *link.ids != link.view.ids;
        let deletes: Vec<ObjectKey> = self
            .objects
            .iter()
            .filter(|(k, _)| !desired.contains_key(*k))
            .map(|(_, o)| ObjectKey::of(o))
            .collect();
        let mut puts: Vec<Object> = desired
            .iter()
            .filter(|(k, o)| self.objects.get(*k) != Some(*o))
            .map(|(_, o)| o.clone())
            .collect();
        if puts.is_empty() && deletes.is_empty() && !ids_changed {
            self.publish_cluster();
            return Ok(());
        }
        self.assign_addresses(&mut puts)?;
        let mut next = desired;
        for o in &puts {
            next.insert(ObjectKey::of(o).to_string(), o.clone());
        }
        let backup = self.engine.clone();
        if let Err(e) = self.change_engine(puts, &deletes, &next) {
            self.engine = backup;
            return Err(e);
        }
        if let Err(e) = self.settle() {
            self.engine = backup;
            let _ = self.settle();
            return Err(e);
        }
        self.objects = next;
        self.persist()?;
        self.publish_cluster();
        Ok(())
    }

    /// Applies and deletes, then has the cluster confirm every new pod identity; when it
    /// gave a label set another number, the engine is rebuilt from `all` with the
    /// cluster's numbers.
    fn change_engine(
        &mut self,
        puts: Vec<Object>,
        deletes: &[ObjectKey],
        all: &BTreeMap<String, Object>,
    ) -> Result<()> {
        let link = self
            .cluster
            .as_mut()
            .ok_or_else(|| anyhow!("not in a cluster"))?;
        link.ids = std::sync::Arc::new(link.view.ids.clone());
        self.engine.set_cluster_ids(link.ids.clone());
        self.engine
            .apply(puts)
            .context("the cluster's objects do not apply")?;
        self.engine.delete(deletes);
        for _ in 0..REBUILDS {
            let unconfirmed = self.engine.unconfirmed_identities();
            if unconfirmed.is_empty() {
                return Ok(());
            }
            let link = self
                .cluster
                .as_mut()
                .ok_or_else(|| anyhow!("not in a cluster"))?;
            let disagree = link.confirm(&unconfirmed)?;
            self.engine.set_cluster_ids(link.ids.clone());
            if disagree {
                let ids = link.ids.clone();
                self.engine = self.rebuilt_engine(all, ids)?;
            }
        }
        Err(anyhow!(
            "identity numbers kept changing under concurrent allocation; will retry"
        ))
    }

    /// A fresh engine holding `all`, with the cluster's identity numbers from the start.
    fn rebuilt_engine(
        &self,
        all: &BTreeMap<String, Object>,
        ids: std::sync::Arc<enforcer::identity::ClusterIds>,
    ) -> Result<Engine> {
        let mut engine = Engine::new(self.engine.config().clone());
        engine.set_cluster_ids(ids);
        engine.set_dns_names(self.fqdn.names());
        engine
            .apply(all.values().cloned())
            .context("the cluster's objects do not apply")?;
        Ok(engine)
    }
}
