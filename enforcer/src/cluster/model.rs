//! Namespace, Pod and Node as the engine needs them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// A namespace and its labels (`kubernetes.io/metadata.name` included).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Namespace {
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Audit mode for the namespaced policies in it (annotation `observe.io/mode: audit`).
    #[serde(default)]
    pub audit: bool,
}

impl Namespace {
    /// A namespace with only the label Kubernetes adds to every namespace.
    pub fn implicit(name: &str) -> Self {
        let labels = BTreeMap::from([(
            crate::labels::keys::METADATA_NAME.to_string(),
            name.to_string(),
        )]);
        Self {
            name: name.to_string(),
            labels,
            audit: false,
        }
    }
}

/// `namespace/name` of a pod.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct PodKey {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl PodKey {
    /// A key.
    pub fn new(namespace: &str, name: &str) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for PodKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A named or numbered container port.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ContainerPort {
    /// The port's name (lowercase), if named.
    pub name: Option<String>,
    /// The port number.
    pub port: u16,
    /// IP protocol number (TCP by default).
    pub protocol: u8,
}

/// A pod: an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pod {
    /// Namespace and name.
    pub key: PodKey,
    /// Pod labels as written.
    pub labels: BTreeMap<String, String>,
    /// `spec.nodeName`, if set.
    pub node: Option<String>,
    /// `spec.serviceAccountName` (Kubernetes defaults it to `default`).
    pub service_account: String,
    /// Container ports.
    pub ports: Vec<ContainerPort>,
    /// `status.podIP` / `status.podIPs`.
    pub ips: Vec<IpAddr>,
    /// Annotation `observe.io/netns`: an existing named network namespace the agent adopts
    /// as this pod's endpoint (on a real host) instead of creating one.
    #[serde(default)]
    pub netns: Option<String>,
    /// The workload this pod stands for (`None` for a Pod written as such).
    #[serde(default)]
    pub owner: Option<super::WorkloadRef>,
}

/// A node.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Node {
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// `status.addresses` of type InternalIP.
    pub ips: Vec<IpAddr>,
}
