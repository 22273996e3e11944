//! The cluster the policies apply to: namespaces, pods (endpoints) and nodes, as the
//! manifests describe them.

mod model;

pub use model::{ContainerPort, Namespace, Node, Pod, PodKey};
