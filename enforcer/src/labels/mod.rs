//! Labels and label selectors, with Cilium's label sources (`k8s:`, `reserved:`, `cidr:`,
//! and `any:` in selectors).

mod filter;
mod key;
mod label;
mod selector;

pub use filter::is_identity_relevant;
pub(crate) use key::is_dns_label;
pub use key::{KeyError, validate_key, validate_value};
pub use label::{Label, LabelSet, Source};
pub use selector::{Operator, Requirement, SelKey, Selector};

/// Well-known label keys Cilium derives for pods (all with source `k8s`).
pub mod keys {
    /// The pod's namespace.
    pub const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
    /// Prefix of the namespace's labels, re-keyed onto the pod.
    pub const NAMESPACE_LABELS_PREFIX: &str = "io.cilium.k8s.namespace.labels.";
    /// The pod's service account.
    pub const SERVICE_ACCOUNT: &str = "io.cilium.k8s.policy.serviceaccount";
    /// The cluster name.
    pub const CLUSTER: &str = "io.cilium.k8s.policy.cluster";
    /// The namespace label Kubernetes adds to every namespace.
    pub const METADATA_NAME: &str = "kubernetes.io/metadata.name";
}
