//! The cluster the policies apply to: namespaces, pods (endpoints), nodes, the workloads
//! that stand for pods, services with the addresses behind them, and service accounts,
//! as the manifests describe them.

mod model;
mod service;
mod service_backends;
mod workload;

pub use model::{ContainerPort, Namespace, Node, Pod, PodKey};
pub use service::{Service, ServiceAccount, ServicePort, TargetPort};
pub use service_backends::{EndpointSlice, Endpoints, SERVICE_NAME_LABEL};
pub use workload::{MAX_REPLICAS, PodTemplate, Workload, WorkloadKind, WorkloadRef};
