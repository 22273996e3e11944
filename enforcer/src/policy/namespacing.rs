//! Cilium's namespace scoping of selectors (CNP versus CCNP), applied when policies are
//! parsed: the subject of a CNP is confined to its namespace, and peer selectors without a
//! namespace get one.

use crate::labels::{Operator, Requirement, SelKey, Selector, Source, keys};

fn namespace_key() -> SelKey {
    SelKey::k8s(keys::POD_NAMESPACE)
}

fn any_namespace_key() -> SelKey {
    SelKey {
        source: None,
        key: keys::POD_NAMESPACE.into(),
    }
}

fn matches_init(subject: &Selector) -> bool {
    subject.has_key(&SelKey::reserved("init"))
}

/// The subject selector of a rule in `namespace` (empty for cluster-wide policies): a
/// namespaced rule only ever selects pods of its namespace. A user-written
/// `k8s:io.kubernetes.pod.namespace` is replaced; an unqualified one stays and is ANDed.
pub fn subject(selector: Selector, namespace: &str) -> Selector {
    if namespace.is_empty() || matches_init(&selector) {
        return selector;
    }
    selector
        .without(&namespace_key())
        .with(Requirement::equals(namespace_key(), namespace))
}

/// A `fromEndpoints`/`toEndpoints` selector of a rule in `namespace` whose subject is
/// `subject`:
/// - selectors on `reserved:` labels are kept as written;
/// - selectors that name the pod namespace (any source) are kept;
/// - in a CNP, selectors on namespace labels are kept, others get the policy's namespace;
/// - in a CCNP, others must have some namespace (only pods, never reserved identities).
pub fn peer(selector: Selector, namespace: &str, subject: &Selector) -> Selector {
    if selector.has_reserved_key() {
        return selector;
    }
    requirement_selector(selector, namespace, subject)
}

/// A `fromRequires`/`toRequires` selector: scoped like [`peer`], but without the
/// `reserved:` exemption (as Cilium does).
pub fn requirement_selector(selector: Selector, namespace: &str, subject: &Selector) -> Selector {
    if matches_init(subject)
        || selector.has_key(&namespace_key())
        || selector.has_key(&any_namespace_key())
    {
        return selector;
    }
    if namespace.is_empty() {
        return selector.with(Requirement::new(namespace_key(), Operator::Exists, []));
    }
    let by_namespace_labels = selector
        .has_key_prefix(Some(&Source::K8s), keys::NAMESPACE_LABELS_PREFIX)
        || selector.has_key_prefix(None, keys::NAMESPACE_LABELS_PREFIX);
    if by_namespace_labels {
        return selector;
    }
    selector.with(Requirement::equals(namespace_key(), namespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(pairs: &[(&str, &str)]) -> Selector {
        Selector::new(
            pairs
                .iter()
                .map(|(k, v)| Requirement::equals(SelKey::parse(k), v)),
        )
    }

    #[test]
    fn cnp_subject_is_confined_to_the_namespace() {
        let s = subject(
            sel(&[("app", "web"), ("k8s:io.kubernetes.pod.namespace", "other")]),
            "shop",
        );
        assert_eq!(
            s.to_string(),
            "{app=web, k8s:io.kubernetes.pod.namespace=shop}"
        );
        let s = subject(sel(&[("io.kubernetes.pod.namespace", "other")]), "shop");
        assert_eq!(
            s.to_string(),
            "{io.kubernetes.pod.namespace=other, k8s:io.kubernetes.pod.namespace=shop}"
        );
        assert_eq!(subject(Selector::all(), ""), Selector::all());
    }

    #[test]
    fn cnp_peers_get_the_policy_namespace_unless_they_name_one() {
        let subj = Selector::all();
        assert_eq!(
            peer(sel(&[("app", "db")]), "shop", &subj).to_string(),
            "{app=db, k8s:io.kubernetes.pod.namespace=shop}"
        );
        let cross = sel(&[("io.kubernetes.pod.namespace", "ops")]);
        assert_eq!(peer(cross.clone(), "shop", &subj), cross);
        let by_ns_label = sel(&[("io.cilium.k8s.namespace.labels.team", "a")]);
        assert_eq!(peer(by_ns_label.clone(), "shop", &subj), by_ns_label);
        let reserved = sel(&[("reserved:host", "")]);
        assert_eq!(peer(reserved.clone(), "shop", &subj), reserved);
    }

    #[test]
    fn ccnp_peers_must_be_pods() {
        let s = peer(Selector::all(), "", &Selector::all());
        assert_eq!(s.to_string(), "{k8s:io.kubernetes.pod.namespace}");
    }
}
