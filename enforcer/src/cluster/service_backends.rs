//! The addresses behind a Service without a selector, as Kubernetes lists them: a
//! `v1 Endpoints` object of the Service's name, and `discovery.k8s.io/v1 EndpointSlice`
//! objects labelled `kubernetes.io/service-name` with it. `toServices` reaches such a
//! Service's backends by these addresses.

use std::net::IpAddr;

/// The label an EndpointSlice names its Service with.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// A `v1 Endpoints`: the ready addresses of every subset.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Endpoints {
    /// Namespace (the Service's).
    pub namespace: String,
    /// Name (the Service's).
    pub name: String,
    /// `subsets[].addresses[].ip`, each once (`notReadyAddresses` are not backends).
    pub addresses: Vec<IpAddr>,
}

/// A `discovery.k8s.io/v1 EndpointSlice`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EndpointSlice {
    /// Namespace (the Service's).
    pub namespace: String,
    /// The slice's own name.
    pub name: String,
    /// The Service it belongs to (label [`SERVICE_NAME_LABEL`]); a slice without it
    /// belongs to no Service.
    pub service: Option<String>,
    /// `endpoints[].addresses`, each once, of the endpoints not marked
    /// `conditions.ready: false` (an FQDN slice has none).
    pub addresses: Vec<IpAddr>,
}
