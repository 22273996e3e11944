//! `observe apply` and `observe delete` on a node in a cluster: the objects are checked
//! here first (an engine copy must take them: a rejected manifest changes nothing
//! anywhere), pods without `spec.nodeName` are placed on this node (as a scheduler would),
//! then every object is written to the store in one transaction (a fenced series of them
//! past etcd's 128 operations: see `Store::commit`), and the answer waits until this node
//! enforces that revision. Every other node gets it through its watch.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::anyhow;
use enforcer::engine::ObjectKey;
use enforcer::manifest::Object;
use observe_kvstore::{Section, Store};

use super::record::encode;
use super::status::ClusterStatus;
use crate::agent::{Agent, Refused};

/// How long an answer waits for this node to enforce what was stored.
const ENFORCED_WITHIN: Duration = Duration::from_secs(10);

/// Writes requests to the store.
#[derive(Clone)]
pub struct Submitter {
    store: Store,
    status: Arc<ClusterStatus>,
}

impl Submitter {
    /// A submitter over the node's store.
    pub fn new(store: Store, status: Arc<ClusterStatus>) -> Self {
        Self { store, status }
    }

    /// Checks `objects` against a copy of the engine, stores them, waits until enforced
    /// here; returns one result line per object.
    ///
    /// # Errors
    ///
    /// [`Refused::Invalid`] for objects the engine rejects (nothing is stored);
    /// [`Refused::Failed`] when the store cannot be written or the change is not enforced
    /// in time.
    pub async fn apply(
        &self,
        agent: Arc<Mutex<Agent>>,
        objects: Vec<Object>,
        force: bool,
    ) -> Result<Vec<String>, Refused> {
        let (objects, results) =
            blocking(agent, move |a| a.check_for_cluster(objects, force)).await?;
        let puts = objects
            .iter()
            .map(|o| (ObjectKey::of(o).to_string(), encode(o)))
            .collect();
        self.commit(puts, Vec::new()).await?;
        Ok(results)
    }

    /// Deletes objects by key (`None`: every policy) from the store, waits until enforced.
    ///
    /// # Errors
    ///
    /// [`Refused::Failed`] when the store cannot be written or the change is not enforced
    /// in time.
    pub async fn delete(
        &self,
        agent: Arc<Mutex<Agent>>,
        keys: Option<Vec<ObjectKey>>,
        force: bool,
    ) -> Result<Vec<String>, Refused> {
        let (keys, results) = blocking(agent, move |a| {
            let keys = keys.unwrap_or_else(|| a.policy_keys());
            let mut trial = a.engine.clone();
            trial.delete(&keys);
            a.guard_control(&a.engine, &trial, force)?;
            let results = keys
                .iter()
                .map(|k| {
                    let known = a.cluster_object(&k.to_string());
                    format!("{k} {}", if known { "deleted" } else { "not found" })
                })
                .collect();
            Ok((keys, results))
        })
        .await?;
        let deletes = keys.iter().map(ToString::to_string).collect();
        self.commit(Vec::new(), deletes).await?;
        Ok(results)
    }

    async fn commit(
        &self,
        puts: Vec<(String, Vec<u8>)>,
        deletes: Vec<String>,
    ) -> Result<(), Refused> {
        let mut applied = self.status.applied_revision();
        let revision = self
            .store
            .commit(Section::Objects, puts, deletes)
            .await
            .map_err(|e| Refused::Failed(anyhow!("cannot store the change in the kvstore: {e}")))?;
        let enforced =
            tokio::time::timeout(ENFORCED_WITHIN, applied.wait_for(|r| *r >= revision)).await;
        match enforced {
            Ok(Ok(_)) => Ok(()),
            _ => Err(Refused::Failed(anyhow!(
                "stored in the kvstore at revision {revision}, but this node does not enforce it \
                 after {ENFORCED_WITHIN:?} (see its log)"
            ))),
        }
    }
}

async fn blocking<T: Send + 'static>(
    agent: Arc<Mutex<Agent>>,
    f: impl FnOnce(&mut Agent) -> Result<T, Refused> + Send + 'static,
) -> Result<T, Refused> {
    tokio::task::spawn_blocking(move || {
        let mut a = agent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut a)
    })
    .await
    .map_err(|e| Refused::Failed(anyhow!("agent task failed: {e}")))?
}

impl Agent {
    /// Places pods without a node on this one and checks the objects against a copy of
    /// the engine; returns them with one result line each.
    fn check_for_cluster(
        &mut self,
        mut objects: Vec<Object>,
        force: bool,
    ) -> Result<(Vec<Object>, Vec<String>), Refused> {
        for o in &mut objects {
            match o {
                Object::Pod(p) if p.node.is_none() => p.node = Some(self.node.clone()),
                // A DaemonSet runs on every node anyway.
                Object::Workload(w)
                    if w.template.node.is_none()
                        && w.key.kind != enforcer::cluster::WorkloadKind::DaemonSet =>
                {
                    w.template.node = Some(self.node.clone());
                }
                _ => {}
            }
        }
        let results = objects
            .iter()
            .map(|o| self.cluster_result_line(o))
            .collect();
        let mut trial = self.engine.clone();
        trial
            .apply(objects.clone())
            .map_err(|e| Refused::Invalid(e.to_string()))?;
        self.guard_control(&self.engine, &trial, force)?;
        Ok((objects, results))
    }

    fn cluster_result_line(&self, o: &Object) -> String {
        let key = ObjectKey::of(o).to_string();
        let verb = match self.cluster.as_ref().and_then(|c| c.view.objects.get(&key)) {
            None => "created",
            Some(old) if old == o => "unchanged",
            Some(_) => "configured",
        };
        format!("{key} {verb}")
    }

    /// Whether the cluster holds an object with this key.
    fn cluster_object(&self, key: &str) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.view.objects.contains_key(key))
    }
}
