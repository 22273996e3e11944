//! Services and ServiceAccounts as the manifests describe them. A Service matters to
//! enforcement only through `toServices` peers (by name or by its own labels: see
//! [`crate::policy::services`]); a ServiceAccount has no effect (a pod's service account
//! label comes from its own `serviceAccountName`).

use std::collections::BTreeMap;

/// A `v1 Service`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Service {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `metadata.labels`: what `toServices[].k8sServiceSelector` matches.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `spec.selector`: the labels of the pods it fronts. Empty for a Service without a
    /// selector, whose backends are the addresses of its Endpoints or EndpointSlices.
    pub selector: BTreeMap<String, String>,
    /// `spec.ports`.
    pub ports: Vec<ServicePort>,
}

/// One entry of a Service's `spec.ports`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServicePort {
    /// `name` (required when there are several ports).
    pub name: Option<String>,
    /// IP protocol number (TCP by default).
    pub protocol: u8,
    /// `port`.
    pub port: u16,
    /// `targetPort`: a number or a container port name (defaults to `port`).
    pub target_port: TargetPort,
}

/// A Service port's target.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TargetPort {
    /// A port number.
    Number(u16),
    /// A named container port.
    Name(String),
}

/// A `v1 ServiceAccount`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceAccount {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}
