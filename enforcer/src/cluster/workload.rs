//! Workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) and the pods
//! they stand for. The engine has no controller: a workload becomes the pods Kubernetes
//! would run for it, with deterministic names, each remembering its owner.
//!
//! How many pods: `spec.replicas` (default 1) for Deployments, ReplicaSets and
//! StatefulSets; `spec.parallelism` (default 1, at most `spec.completions`) for Jobs; one
//! for a CronJob (the job it would start); one per known node for a DaemonSet (one on the
//! default node when no node is known). Names: StatefulSet `NAME-0..N-1` as Kubernetes,
//! DaemonSet `NAME-<node>`, the other kinds `NAME-<hash>-<i>` where `<hash>` is five
//! characters derived from the kind, the name and the pod template (so a changed template
//! means new pods, as a rollout would). Job pods carry the `job-name` labels the Job
//! controller adds.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use super::model::{ContainerPort, Pod, PodKey};

/// Most pods one workload may stand for.
pub const MAX_REPLICAS: u32 = 1000;

/// The kinds of workload.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum WorkloadKind {
    /// `apps/v1 Deployment`.
    Deployment,
    /// `apps/v1 StatefulSet`.
    StatefulSet,
    /// `apps/v1 DaemonSet`.
    DaemonSet,
    /// `apps/v1 ReplicaSet`.
    ReplicaSet,
    /// `batch/v1 Job`.
    Job,
    /// `batch/v1 CronJob`.
    CronJob,
}

impl WorkloadKind {
    /// Every kind.
    pub const ALL: [Self; 6] = [
        Self::Deployment,
        Self::StatefulSet,
        Self::DaemonSet,
        Self::ReplicaSet,
        Self::Job,
        Self::CronJob,
    ];

    /// The manifest kind (`Deployment`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployment => "Deployment",
            Self::StatefulSet => "StatefulSet",
            Self::DaemonSet => "DaemonSet",
            Self::ReplicaSet => "ReplicaSet",
            Self::Job => "Job",
            Self::CronJob => "CronJob",
        }
    }

    /// The kind of manifest kind `kind`.
    pub fn from_kind(kind: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == kind)
    }

    /// The kind a `kubectl`-style reference names: `deployment`, `deployments` or
    /// `deploy` (any case), and likewise `sts`, `ds`, `rs`, `cj`.
    pub fn from_reference(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "deployment" | "deployments" | "deploy" => Self::Deployment,
            "statefulset" | "statefulsets" | "sts" => Self::StatefulSet,
            "daemonset" | "daemonsets" | "ds" => Self::DaemonSet,
            "replicaset" | "replicasets" | "rs" => Self::ReplicaSet,
            "job" | "jobs" => Self::Job,
            "cronjob" | "cronjobs" | "cj" => Self::CronJob,
            _ => return None,
        })
    }

    /// The lowercase name used in references and output (`deployment`).
    pub fn reference(self) -> String {
        self.as_str().to_ascii_lowercase()
    }
}

/// A workload's kind, namespace and name.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct WorkloadRef {
    /// Kind.
    pub kind: WorkloadKind,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl WorkloadRef {
    /// `deployment/NAME`, as output names a pod's owner.
    pub fn short(&self) -> String {
        format!("{}/{}", self.kind.reference(), self.name)
    }
}

impl fmt::Display for WorkloadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind.as_str(), self.namespace, self.name)
    }
}

/// What a pod template gives every pod of its workload.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PodTemplate {
    /// `template.metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `template.spec.nodeName`, if set.
    pub node: Option<String>,
    /// `template.spec.serviceAccountName` (`default` when unset).
    pub service_account: String,
    /// Container ports.
    pub ports: Vec<ContainerPort>,
}

/// A workload: a pod template and how many pods it runs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Workload {
    /// Kind, namespace and name.
    pub key: WorkloadRef,
    /// The pod template.
    pub template: PodTemplate,
    /// Pods it runs (ignored for a DaemonSet: one per node).
    pub replicas: u32,
    /// Addresses given to its pods (by the agent), by pod name.
    #[serde(default)]
    pub addresses: BTreeMap<String, Vec<IpAddr>>,
}

impl Workload {
    /// The pods it stands for; `nodes` are the nodes a DaemonSet runs on.
    pub fn pods(&self, nodes: &[String]) -> Vec<Pod> {
        match self.key.kind {
            WorkloadKind::DaemonSet if nodes.is_empty() => {
                vec![self.pod(self.key.name.clone(), None)]
            }
            WorkloadKind::DaemonSet => nodes
                .iter()
                .map(|n| self.pod(format!("{}-{n}", self.key.name), Some(n.clone())))
                .collect(),
            WorkloadKind::StatefulSet => (0..self.replicas)
                .map(|i| self.pod(format!("{}-{i}", self.key.name), None))
                .collect(),
            _ => {
                let hash = self.template_hash();
                (0..self.replicas)
                    .map(|i| self.pod(format!("{}-{hash}-{i}", self.key.name), None))
                    .collect()
            }
        }
    }

    fn pod(&self, name: String, node: Option<String>) -> Pod {
        let t = &self.template;
        let mut labels = t.labels.clone();
        if self.key.kind == WorkloadKind::Job {
            // The Job controller labels its pods with the job's name.
            for key in ["job-name", "batch.kubernetes.io/job-name"] {
                labels.insert(key.into(), self.key.name.clone());
            }
        }
        Pod {
            key: PodKey::new(&self.key.namespace, &name),
            labels,
            node: node.or_else(|| t.node.clone()),
            service_account: t.service_account.clone(),
            ports: t.ports.clone(),
            ips: self.addresses.get(&name).cloned().unwrap_or_default(),
            netns: None,
            owner: Some(self.key.clone()),
        }
    }

    /// Five characters from Kubernetes' name alphabet (no vowels, no look-alikes),
    /// derived with FNV-1a from the kind, name and template.
    fn template_hash(&self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let t = &self.template;
        let mut text = format!(
            "{}\0{}\0{}\0",
            self.key.kind.as_str(),
            self.key.name,
            t.service_account
        );
        for (k, v) in &t.labels {
            text.push_str(&format!("{k}={v}\0"));
        }
        for p in &t.ports {
            text.push_str(&format!("{:?}/{}/{}\0", p.name, p.port, p.protocol));
        }
        text.push_str(t.node.as_deref().unwrap_or(""));
        let mut h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        let mut out = String::new();
        for _ in 0..5 {
            let base = ALPHABET.len() as u64;
            out.push(char::from(ALPHABET[usize::try_from(h % base).unwrap_or(0)]));
            h /= base;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(kind: WorkloadKind, replicas: u32) -> Workload {
        Workload {
            key: WorkloadRef {
                kind,
                namespace: "shop".into(),
                name: "web".into(),
            },
            template: PodTemplate {
                labels: BTreeMap::from([("app".into(), "web".into())]),
                node: None,
                service_account: "web".into(),
                ports: vec![],
            },
            replicas,
            addresses: BTreeMap::new(),
        }
    }

    fn names(pods: &[Pod]) -> Vec<String> {
        pods.iter().map(|p| p.key.name.clone()).collect()
    }

    #[test]
    fn a_statefulset_names_its_pods_by_ordinal_as_kubernetes_does() {
        let pods = workload(WorkloadKind::StatefulSet, 3).pods(&[]);
        assert_eq!(names(&pods), ["web-0", "web-1", "web-2"]);
        assert!(
            pods.iter()
                .all(|p| p.owner.as_ref().unwrap().short() == "statefulset/web")
        );
    }

    #[test]
    fn a_deployment_names_its_pods_by_a_stable_template_hash_and_index() {
        let w = workload(WorkloadKind::Deployment, 2);
        let a = names(&w.pods(&[]));
        assert_eq!(a, names(&w.pods(&[])));
        assert_eq!(a.len(), 2);
        let hash = &a[0]["web-".len().."web-".len() + 5];
        assert_eq!(a, [format!("web-{hash}-0"), format!("web-{hash}-1")]);
        let mut changed = w.clone();
        changed.template.labels.insert("version".into(), "2".into());
        assert_ne!(names(&changed.pods(&[])), a);
        let other_kind = Workload {
            key: WorkloadRef {
                kind: WorkloadKind::ReplicaSet,
                ..w.key.clone()
            },
            ..w
        };
        assert_ne!(names(&other_kind.pods(&[])), a);
    }

    #[test]
    fn a_daemonset_runs_one_pod_per_node_or_one_without_nodes() {
        let w = workload(WorkloadKind::DaemonSet, 1);
        let pods = w.pods(&["n1".into(), "n2".into()]);
        assert_eq!(names(&pods), ["web-n1", "web-n2"]);
        assert_eq!(pods[1].node.as_deref(), Some("n2"));
        assert_eq!(names(&w.pods(&[])), ["web"]);
    }

    #[test]
    fn references_take_kubectl_names_and_short_names() {
        for (word, kind) in [
            ("deployment", WorkloadKind::Deployment),
            ("Deployments", WorkloadKind::Deployment),
            ("deploy", WorkloadKind::Deployment),
            ("sts", WorkloadKind::StatefulSet),
            ("ds", WorkloadKind::DaemonSet),
            ("replicasets", WorkloadKind::ReplicaSet),
            ("rs", WorkloadKind::ReplicaSet),
            ("jobs", WorkloadKind::Job),
            ("cronjob", WorkloadKind::CronJob),
            ("cj", WorkloadKind::CronJob),
        ] {
            assert_eq!(WorkloadKind::from_reference(word), Some(kind), "{word}");
        }
        for word in ["pod", "node", "shop", "s", "d"] {
            assert_eq!(WorkloadKind::from_reference(word), None, "{word}");
        }
    }
}
