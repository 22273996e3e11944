//! Services and ServiceAccounts: read and validated, kept in the parse result, without an
//! effect on enforcement (`toServices` is not supported; a pod's service account label
//! comes from its own `serviceAccountName`).

use std::collections::BTreeMap;

/// A `v1 Service`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Service {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `spec.selector`: the labels of the pods it fronts.
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
