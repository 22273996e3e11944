//! The cluster the policies apply to: namespaces, pods (endpoints), nodes, the workloads
//! that stand for pods, and the services and service accounts kept alongside, as the
//! manifests describe them.

mod model;
mod service;
mod workload;

pub use model::{ContainerPort, Namespace, Node, Pod, PodKey};
pub use service::{Service, ServiceAccount, ServicePort, TargetPort};
pub use workload::{MAX_REPLICAS, PodTemplate, Workload, WorkloadKind, WorkloadRef};
