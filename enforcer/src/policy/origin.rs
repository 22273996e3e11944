//! Where a rule comes from: the policy object (kind, namespace, name) and the rule's path
//! inside it. Map-state entries, trace output and flow attribution all name rules this way.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// The kind of object a rule comes from.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum PolicyKind {
    /// `cilium.io/v2 CiliumNetworkPolicy`.
    CiliumNetworkPolicy,
    /// `cilium.io/v2 CiliumClusterwideNetworkPolicy`.
    CiliumClusterwideNetworkPolicy,
    /// `networking.k8s.io/v1 NetworkPolicy`.
    NetworkPolicy,
    /// A rule the engine adds itself, as Cilium does (allow-all when no selecting rule
    /// enables default deny; the local host exception).
    Derived,
}

impl PolicyKind {
    /// The Kubernetes kind name (Hubble's `Policy.kind`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::CiliumNetworkPolicy => "CiliumNetworkPolicy",
            Self::CiliumClusterwideNetworkPolicy => "CiliumClusterwideNetworkPolicy",
            Self::NetworkPolicy => "NetworkPolicy",
            Self::Derived => "Derived",
        }
    }

    /// Short form for tables (`CNP`, `CCNP`, `KNP`).
    pub fn short(&self) -> &'static str {
        match self {
            Self::CiliumNetworkPolicy => "CNP",
            Self::CiliumClusterwideNetworkPolicy => "CCNP",
            Self::NetworkPolicy => "KNP",
            Self::Derived => "derived",
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy object: kind, namespace (empty for cluster-wide and derived) and name.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct PolicyRef {
    /// Object kind.
    pub kind: PolicyKind,
    /// Namespace; empty for cluster-scoped objects.
    pub namespace: String,
    /// Object name.
    pub name: String,
}

impl PolicyRef {
    /// `namespace/name`, or just `name` when cluster-scoped.
    pub fn qualified_name(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.qualified_name())
    }
}

/// One rule of a policy: the policy and the rule's path within it, such as
/// `spec.ingress[0]` or `specs[1].egressDeny[2]`.
///
/// Equality and order are by content; comparisons short-cut on shared `Arc`s, which is
/// the common case when map states are built (every entry of a rule shares its `Arc`s).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RuleRef {
    /// The policy object.
    pub policy: Arc<PolicyRef>,
    /// Path of the rule inside the object.
    pub path: Arc<str>,
}

impl std::hash::Hash for RuleRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // By content, like `Eq`.
        self.policy.hash(state);
        self.path.hash(state);
    }
}

impl PartialEq for RuleRef {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RuleRef {}

impl PartialOrd for RuleRef {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RuleRef {
    fn cmp(&self, other: &Self) -> Ordering {
        let policy = if Arc::ptr_eq(&self.policy, &other.policy) {
            Ordering::Equal
        } else {
            self.policy.cmp(&other.policy)
        };
        policy.then_with(|| {
            if Arc::ptr_eq(&self.path, &other.path) {
                Ordering::Equal
            } else {
                self.path.cmp(&other.path)
            }
        })
    }
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.policy.kind {
            // Derived rules have no path; theirs is the reason they exist.
            PolicyKind::Derived => write!(f, "{} ({})", self.policy, self.path),
            _ => write!(f, "{} {}", self.policy, self.path),
        }
    }
}
