//! Workloads in the engine: an applied workload becomes the pods it stands for (see
//! [`Workload::pods`]), which are endpoints like any other; the engine remembers which
//! pods each workload made, to replace them when the workload changes and remove them
//! when it is deleted. Services and ServiceAccounts are accepted and have no effect.

use std::collections::{BTreeMap, BTreeSet};

use super::Engine;
use super::apply::ApplyError;
use crate::cluster::{Pod, PodKey, Workload, WorkloadRef};
use crate::manifest::Object;

/// Objects with workloads replaced by their pods, and the pods of each workload.
pub(super) struct Expanded {
    /// Namespaces, nodes, pods (written and generated) and policies.
    pub objects: Vec<Object>,
    /// Each applied workload and the pods it now stands for, in order.
    pub workloads: Vec<(WorkloadRef, Vec<PodKey>)>,
}

impl Engine {
    /// The nodes a DaemonSet runs on when applied with `batch`: every applied Node and
    /// every Node in the batch (none: it runs one pod on the default node).
    pub fn daemon_nodes(&self, batch: &[Object]) -> Vec<String> {
        let mut names: BTreeSet<String> = self.nodes.keys().cloned().collect();
        names.extend(batch.iter().filter_map(|o| match o {
            Object::Node(n) => Some(n.name.clone()),
            _ => None,
        }));
        names.into_iter().collect()
    }

    /// The pods `workload` stands for when applied with `batch`.
    pub fn pods_of(&self, workload: &Workload, batch: &[Object]) -> Vec<Pod> {
        workload.pods(&self.daemon_nodes(batch))
    }

    /// The pods an applied workload stands for, in order (the first is the one a trace
    /// of the workload uses).
    pub fn workload_pods(&self, workload: &WorkloadRef) -> impl Iterator<Item = &PodKey> {
        self.workloads
            .get(workload)
            .into_iter()
            .flatten()
            .filter(|k| self.pods.contains_key(*k))
    }

    /// Replaces workloads by their pods and drops ServiceAccounts; fails if a pod name is
    /// claimed by two owners.
    pub(super) fn expand(&self, objects: Vec<Object>) -> Result<Expanded, ApplyError> {
        let nodes = self.daemon_nodes(&objects);
        let mut out = Expanded {
            objects: Vec::with_capacity(objects.len()),
            workloads: Vec::new(),
        };
        for object in objects {
            match object {
                Object::Workload(w) => {
                    let pods = w.pods(&nodes);
                    out.workloads
                        .push((w.key.clone(), pods.iter().map(|p| p.key.clone()).collect()));
                    out.objects.extend(pods.into_iter().map(Object::Pod));
                }
                Object::ServiceAccount(_) => {}
                other => out.objects.push(other),
            }
        }
        self.check_pod_names(&out.objects)?;
        Ok(out)
    }

    /// A pod name belongs to one owner: a written Pod or one workload.
    fn check_pod_names(&self, objects: &[Object]) -> Result<(), ApplyError> {
        let mut batch: BTreeMap<&PodKey, &Option<WorkloadRef>> = BTreeMap::new();
        for o in objects {
            let Object::Pod(p) = o else { continue };
            if let Some(first) = batch.insert(&p.key, &p.owner)
                && first != &p.owner
            {
                return Err(conflict(&p.key, first, &p.owner));
            }
            if let Some(first) = self.pods.get(&p.key).map(|e| &e.pod.owner)
                && first != &p.owner
            {
                return Err(conflict(&p.key, first, &p.owner));
            }
        }
        Ok(())
    }
}

fn conflict(pod: &PodKey, first: &Option<WorkloadRef>, second: &Option<WorkloadRef>) -> ApplyError {
    let name = |o: &Option<WorkloadRef>| {
        o.as_ref()
            .map_or_else(|| format!("Pod {pod}"), |w| format!("a pod of {w}"))
    };
    ApplyError::PodNameConflict {
        pod: pod.clone(),
        first: name(first),
        second: name(second),
    }
}
