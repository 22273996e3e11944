//! Security identities: numeric ids for label sets. Same label set, same id; reserved
//! identities have fixed ids; pods, remote nodes and CIDRs get ids in separate scopes.

mod cluster_ids;
mod labels_for;
mod reserved;
mod table;

pub use cluster_ids::{ClusterIds, Unconfirmed};
pub use labels_for::{cidr_labels, host_labels, node_labels, pod_labels};
pub use reserved::{
    HOST, REMOTE_NODE, Reserved, WORLD, WORLD_IPV4, WORLD_IPV6, reserved, reserved_by_id,
};
pub use table::{Identity, IdentityTable, Scope};
