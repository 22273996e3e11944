//! Cilium's default identity-relevant label filter: which pod labels become part of the
//! security identity (`pkg/labelsfilter` defaults).
//!
//! The longest matching include prefix beats a shorter ignore prefix; a label that matches
//! no rule is kept.

/// Include rules (key prefixes that are always identity-relevant).
const INCLUDE: &[&str] = &[
    "io.kubernetes.pod.namespace",
    "io.cilium.k8s.namespace.labels",
    "app.kubernetes.io",
    "io.cilium.k8s.policy.cluster",
    "io.cilium.k8s.policy.serviceaccount",
];

/// Ignore rules (key prefixes that never are).
const IGNORE: &[&str] = &[
    "io.kubernetes",
    "kubernetes.io",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "batch.kubernetes.io/job-completion-index",
    "batch.kubernetes.io/controller-uid",
    "k8s.io",
    "pod-template-generation",
    "pod-template-hash",
    "controller-revision-hash",
    "controller-uid",
    "annotation.",
    "etcd_node",
    "topology.kubernetes.io",
];

/// Whether a `k8s:` pod label with this key is part of the pod's identity.
pub fn is_identity_relevant(key: &str) -> bool {
    let longest = |rules: &[&str]| {
        rules
            .iter()
            .filter(|p| key.starts_with(*p))
            .map(|p| p.len())
            .max()
    };
    // `*beta.kubernetes.io*`: ignored wherever it appears in the key.
    let beta = key
        .contains("beta.kubernetes.io")
        .then_some("beta.kubernetes.io".len());
    let ignore = longest(IGNORE).max(beta);
    match (longest(INCLUDE), ignore) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(inc), Some(ign)) => inc >= ign,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_user_labels_and_cilium_derived_ones() {
        for k in [
            "app",
            "tier",
            "io.kubernetes.pod.namespace",
            "app.kubernetes.io/name",
            "io.cilium.k8s.policy.cluster",
        ] {
            assert!(is_identity_relevant(k), "{k}");
        }
    }

    #[test]
    fn drops_kubernetes_bookkeeping_labels() {
        for k in [
            "pod-template-hash",
            "controller-revision-hash",
            "io.kubernetes.pod.name",
            "kubernetes.io/hostname",
            "statefulset.kubernetes.io/pod-name",
            "failure-domain.beta.kubernetes.io/zone",
            "topology.kubernetes.io/zone",
        ] {
            assert!(!is_identity_relevant(k), "{k}");
        }
    }
}
