//! `toServices` peers (Cilium's `pkg/policy/k8s/service.go`): which Services an entry
//! names (`k8sService`) or selects by their own labels (`k8sServiceSelector`), and the
//! peers a matching Service stands for: the pods its `spec.selector` selects in its
//! namespace, or, for a Service without a selector, each address behind it as a /32
//! (/128) CIDR. The engine puts those generated peers in place of the entry (see
//! `engine::to_services`); traffic is judged by backend address, there is no ClusterIP.

use std::fmt;
use std::net::IpAddr;

use super::model::Peer;
use crate::cluster::Service;
use crate::labels::{Label, LabelSet, Requirement, SelKey, Selector, keys};
use crate::net::Cidr;

/// One `toServices` entry.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ServicePeer {
    /// `k8sService`: the Service of this name.
    Name {
        /// `serviceName`.
        name: String,
        /// `namespace`; `None` (absent or empty) matches the name in every namespace, as
        /// Cilium does.
        namespace: Option<String>,
    },
    /// `k8sServiceSelector`: the Services whose `metadata.labels` match.
    Selector {
        /// `selector`.
        selector: Selector,
        /// `namespace`; `None` (absent or empty) matches in every namespace.
        namespace: Option<String>,
    },
}

impl ServicePeer {
    /// The namespace the entry is limited to, if any.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Self::Name { namespace, .. } | Self::Selector { namespace, .. } => namespace.as_deref(),
        }
    }

    /// Whether `service` is one the entry reaches (Cilium's `serviceRefMatches` and
    /// `serviceSelectorMatches`).
    pub fn matches(&self, service: &Service) -> bool {
        if self.namespace().is_some_and(|ns| ns != service.namespace) {
            return false;
        }
        match self {
            Self::Name { name, .. } => *name == service.name,
            Self::Selector { selector, .. } => selector.matches(&service_labels(service)),
        }
    }
}

impl fmt::Display for ServicePeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self, self.namespace()) {
            (Self::Name { name, .. }, Some(ns)) => write!(f, "k8sService {ns}/{name}"),
            (Self::Name { name, .. }, None) => write!(f, "k8sService {name} (any namespace)"),
            (Self::Selector { selector, .. }, Some(ns)) => {
                write!(f, "k8sServiceSelector {selector} in namespace {ns}")
            }
            (Self::Selector { selector, .. }, None) => {
                write!(f, "k8sServiceSelector {selector} (any namespace)")
            }
        }
    }
}

/// A Service's own labels as a selector sees them (source `k8s`).
fn service_labels(service: &Service) -> LabelSet {
    LabelSet::new(service.labels.iter().map(|(k, v)| Label::k8s(k, v)))
}

/// The peers `service` stands for: with a selector, its pods (the selector's labels as
/// `k8s:` labels plus the Service's namespace); without one, a host prefix per address
/// in `addresses`.
pub fn backend_peers(service: &Service, addresses: impl IntoIterator<Item = IpAddr>) -> Vec<Peer> {
    if service.selector.is_empty() {
        return addresses
            .into_iter()
            .map(|ip| Peer::Cidr {
                cidr: Cidr::host(ip),
                except: Vec::new(),
            })
            .collect();
    }
    let reqs = service
        .selector
        .iter()
        .map(|(k, v)| Requirement::equals(SelKey::k8s(k), v))
        .chain([Requirement::equals(
            SelKey::k8s(keys::POD_NAMESPACE),
            &service.namespace,
        )]);
    vec![Peer::Endpoints(Selector::new(reqs))]
}

/// What a generated section's rule path adds to the section's: ` toServices NS/NAME`.
const MARK: &str = " toServices ";

/// The rule path of the section generated for `service` from the section at `section`:
/// `spec.egress[0] toServices shop/db`, which attribution and traces show.
pub fn generated_path(section: &str, service: &Service) -> String {
    format!("{section}{MARK}{}/{}", service.namespace, service.name)
}

/// The path of the section as written in the policy: `spec.egress[0]` for
/// `spec.egress[0] toServices shop/db` (and any other path as it is).
pub fn section_path(path: &str) -> &str {
    path.split_once(MARK).map_or(path, |(section, _)| section)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn service(
        ns: &str,
        name: &str,
        labels: &[(&str, &str)],
        selector: &[(&str, &str)],
    ) -> Service {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Service {
            namespace: ns.into(),
            name: name.into(),
            labels: map(labels),
            selector: map(selector),
            ports: Vec::new(),
        }
    }

    #[test]
    fn a_name_without_namespace_matches_in_every_namespace() {
        let db = service("shop", "db", &[], &[]);
        let other = service("ops", "db", &[], &[]);
        let by_name = |ns: Option<&str>| ServicePeer::Name {
            name: "db".into(),
            namespace: ns.map(String::from),
        };
        assert!(by_name(Some("shop")).matches(&db));
        assert!(!by_name(Some("shop")).matches(&other));
        assert!(by_name(None).matches(&db) && by_name(None).matches(&other));
        assert!(!by_name(None).matches(&service("shop", "web", &[], &[])));
    }

    #[test]
    fn a_selector_matches_the_services_own_labels_not_its_pod_selector() {
        let svc = service("shop", "db", &[("env", "prod")], &[("app", "db")]);
        let sel = |k: &str, v: &str| ServicePeer::Selector {
            selector: Selector::new([Requirement::equals(SelKey::parse(k), v)]),
            namespace: None,
        };
        assert!(sel("env", "prod").matches(&svc));
        assert!(sel("k8s:env", "prod").matches(&svc));
        assert!(!sel("app", "db").matches(&svc));
    }

    #[test]
    fn backends_are_the_selected_pods_or_the_addresses() {
        let svc = service("shop", "db", &[], &[("app", "db")]);
        let [Peer::Endpoints(sel)] = &backend_peers(&svc, [])[..] else {
            panic!("one endpoint selector")
        };
        assert_eq!(
            sel.to_string(),
            "{k8s:app=db, k8s:io.kubernetes.pod.namespace=shop}"
        );
        let external = service("shop", "ext", &[], &[]);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(
            backend_peers(&external, [ip]),
            vec![Peer::Cidr {
                cidr: Cidr::host(ip),
                except: Vec::new()
            }]
        );
    }

    #[test]
    fn entries_are_shown_as_written() {
        let by_name = |ns: Option<&str>| ServicePeer::Name {
            name: "db".into(),
            namespace: ns.map(String::from),
        };
        assert_eq!(by_name(Some("shop")).to_string(), "k8sService shop/db");
        assert_eq!(by_name(None).to_string(), "k8sService db (any namespace)");
        let by_labels = ServicePeer::Selector {
            selector: Selector::new([Requirement::equals(SelKey::parse("env"), "prod")]),
            namespace: Some("shop".into()),
        };
        assert_eq!(
            by_labels.to_string(),
            "k8sServiceSelector {env=prod} in namespace shop"
        );
    }

    #[test]
    fn generated_paths_name_the_service_and_lead_back_to_the_section() {
        let svc = service("shop", "db", &[], &[]);
        let path = generated_path("spec.egress[0]", &svc);
        assert_eq!(path, "spec.egress[0] toServices shop/db");
        assert_eq!(section_path(&path), "spec.egress[0]");
        assert_eq!(section_path("specs[1].ingress[2]"), "specs[1].ingress[2]");
    }
}
