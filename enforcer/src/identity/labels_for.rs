//! The label sets identities are made of: pods (filtered pod labels plus what Cilium
//! derives from the namespace, service account and cluster), remote nodes, a node's own
//! host endpoint, and CIDRs.

use std::collections::BTreeMap;

use crate::cluster::{Namespace, Node, Pod};
use crate::labels::{Label, LabelSet, Source, is_identity_relevant, keys};
use crate::net::Cidr;

/// A pod's identity labels.
pub fn pod_labels(pod: &Pod, namespace: &Namespace, cluster: &str) -> LabelSet {
    let mut labels: Vec<Label> = pod
        .labels
        .iter()
        .filter(|(k, _)| is_identity_relevant(k))
        .map(|(k, v)| Label::k8s(k.clone(), v.clone()))
        .collect();
    labels.push(Label::k8s(keys::POD_NAMESPACE, &pod.key.namespace));
    for (k, v) in &namespace.labels {
        labels.push(Label::k8s(
            format!("{}{k}", keys::NAMESPACE_LABELS_PREFIX),
            v.clone(),
        ));
    }
    labels.push(Label::k8s(keys::SERVICE_ACCOUNT, &pod.service_account));
    labels.push(Label::k8s(keys::CLUSTER, cluster));
    LabelSet::new(labels)
}

/// A remote node's identity labels: `reserved:remote-node` and its node labels (source
/// `node`), so `fromNodes` selectors can tell nodes apart. A node without labels has the
/// reserved remote-node identity.
pub fn node_labels(node: &Node) -> LabelSet {
    node_labels_of(&node.labels)
}

fn node_labels_of(labels: &BTreeMap<String, String>) -> LabelSet {
    let node = Source::Other("node".into());
    LabelSet::new(
        std::iter::once(Label::reserved("remote-node")).chain(labels.iter().map(|(k, v)| Label {
            source: node.clone(),
            key: k.clone(),
            value: v.clone(),
        })),
    )
}

/// The labels of a node's own host endpoint, which `nodeSelector` matches: `reserved:host`
/// and the node's labels with the `k8s` source, as Cilium's `endpoint list` shows them.
/// The endpoint's identity stays the reserved host identity whatever its labels.
pub fn host_labels(labels: &BTreeMap<String, String>) -> LabelSet {
    LabelSet::new(
        std::iter::once(Label::reserved("host"))
            .chain(labels.iter().map(|(k, v)| Label::k8s(k.clone(), v.clone()))),
    )
}

/// A CIDR identity's labels: `cidr:<prefix>` and the world label of its family (dual
/// stack). `0.0.0.0/0` and `::/0` are the world identities themselves and not built here.
pub fn cidr_labels(cidr: &Cidr) -> LabelSet {
    let world = if cidr.is_v6() {
        "world-ipv6"
    } else {
        "world-ipv4"
    };
    // Cilium writes IPv6 prefixes with '-' instead of ':' in label keys.
    let key = cidr.to_string().replace(':', "-");
    LabelSet::new([
        Label {
            source: Source::Cidr,
            key,
            value: String::new(),
        },
        Label::reserved(world),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PodKey;

    #[test]
    fn pod_identity_has_cilium_derived_labels_and_drops_bookkeeping() {
        let pod = Pod {
            key: PodKey::new("shop", "web-1"),
            labels: BTreeMap::from([
                ("app".into(), "web".into()),
                ("pod-template-hash".into(), "abc".into()),
            ]),
            node: None,
            service_account: "web-sa".into(),
            ports: vec![],
            ips: vec![],
            netns: None,
            owner: None,
        };
        let ns = Namespace::implicit("shop");
        let l = pod_labels(&pod, &ns, "default");
        assert_eq!(
            l.to_string(),
            "k8s:app=web,k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=shop,\
             k8s:io.cilium.k8s.policy.cluster=default,k8s:io.cilium.k8s.policy.serviceaccount=web-sa,\
             k8s:io.kubernetes.pod.namespace=shop"
        );
    }

    #[test]
    fn cidr_labels_carry_the_family_world_label() {
        let l = cidr_labels(&"2001:db8::/32".parse().unwrap());
        assert_eq!(l.to_string(), "reserved:world-ipv6,cidr:2001-db8--/32");
    }
}
