//! Source and destination endpoints: who sent and who received the packet.
//!
//! The side whose hook saw the packet is the event's endpoint (looked up by id); the other
//! side is the peer, looked up by address. Identities come from the event (what the
//! datapath decided with), labels from the endpoint or, for peers that are not endpoints,
//! from the identity.

use std::net::IpAddr;
use std::sync::Arc;

use observe_proto::flow::Endpoint;
use probe_common::direction::{EGRESS, INGRESS};
use probe_common::event::FlowEvent;

use crate::getters::{EndpointGetter, EndpointInfo, IdentityGetter};
use probe_common::identity::name as reserved_identity_name;

/// The label carrying a pod's namespace.
const NAMESPACE_LABEL: &str = "k8s:io.kubernetes.pod.namespace=";

/// The getters endpoint decoding uses.
pub(super) struct EndpointSources<'a> {
    pub endpoints: &'a dyn EndpointGetter,
    pub identities: &'a dyn IdentityGetter,
}

/// Source and destination of the event.
pub(super) fn decode_endpoints(
    ev: &FlowEvent,
    addrs: Option<(IpAddr, IpAddr)>,
    sources: &EndpointSources<'_>,
) -> (Endpoint, Endpoint) {
    let (saddr, daddr) = addrs.unzip();
    let local = local_endpoint(ev, sources.endpoints);
    // Which side the hook's endpoint is on: it sends on egress and receives on ingress.
    let (src_info, dst_info) = match ev.direction {
        EGRESS => (
            local.or_else(|| by_ip(saddr, sources)),
            by_ip(daddr, sources),
        ),
        INGRESS => (
            by_ip(saddr, sources),
            local.or_else(|| by_ip(daddr, sources)),
        ),
        _ => (by_ip(saddr, sources), by_ip(daddr, sources)),
    };
    (
        endpoint(src_info.as_deref(), ev.src_identity, sources.identities),
        endpoint(dst_info.as_deref(), ev.dst_identity, sources.identities),
    )
}

/// One side known only by its address and identity (an L7 record's client or server).
pub(super) fn endpoint_at(addr: IpAddr, identity: u32, sources: &EndpointSources<'_>) -> Endpoint {
    let info = by_ip(Some(addr), sources);
    endpoint(info.as_deref(), identity, sources.identities)
}

fn local_endpoint(ev: &FlowEvent, endpoints: &dyn EndpointGetter) -> Option<Arc<EndpointInfo>> {
    // 0 means no endpoint is registered on the interface.
    (ev.endpoint_id != 0)
        .then(|| endpoints.endpoint_by_id(u32::from(ev.endpoint_id)))
        .flatten()
}

fn by_ip(addr: Option<IpAddr>, sources: &EndpointSources<'_>) -> Option<Arc<EndpointInfo>> {
    addr.and_then(|a| sources.endpoints.endpoint_by_ip(a))
}

/// One side: the endpoint's fields when known, else what the identity says.
fn endpoint(
    info: Option<&EndpointInfo>,
    identity: u32,
    identities: &dyn IdentityGetter,
) -> Endpoint {
    // The datapath's identity is what the verdict was computed with; the registry may
    // already have moved on.
    let identity = match (identity, info) {
        (0, Some(info)) => info.identity,
        _ => identity,
    };
    let mut out = Endpoint {
        identity,
        ..Default::default()
    };
    if let Some(info) = info {
        out.id = info.id;
        out.namespace.clone_from(&info.namespace);
        out.pod_name.clone_from(&info.pod_name);
        out.labels.clone_from(&info.labels);
    }
    if out.labels.is_empty() {
        out.labels = identity_labels(identity, identities);
    }
    if out.namespace.is_empty() {
        out.namespace = namespace_from_labels(&out.labels).unwrap_or_default();
    }
    out
}

/// Labels of an identity; reserved identities are labelled even without a getter.
fn identity_labels(identity: u32, identities: &dyn IdentityGetter) -> Vec<String> {
    if identity == 0 {
        return Vec::new();
    }
    if let Some(labels) = identities.identity_labels(identity) {
        return labels.to_vec();
    }
    reserved_identity_name(identity)
        .map(|name| vec![format!("reserved:{name}")])
        .unwrap_or_default()
}

fn namespace_from_labels(labels: &[String]) -> Option<String> {
    labels
        .iter()
        .find_map(|l| l.strip_prefix(NAMESPACE_LABEL))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::getters::{
        FakeEndpointGetter, FakeIdentityGetter, NoopEndpointGetter, NoopIdentityGetter,
    };

    fn web() -> Arc<EndpointInfo> {
        Arc::new(EndpointInfo {
            id: 12,
            identity: 4242,
            namespace: "default".into(),
            pod_name: "web-0".into(),
            labels: vec!["k8s:app=web".into()],
            node_name: "node-1".into(),
        })
    }

    fn ev(direction: u8) -> FlowEvent {
        FlowEvent {
            direction,
            endpoint_id: 12,
            src_identity: 4242,
            dst_identity: 2,
            ..FlowEvent::default()
        }
    }

    const ADDRS: (IpAddr, IpAddr) = (
        IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)),
        IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7)),
    );

    #[test]
    fn egress_puts_the_endpoint_on_the_source_side() {
        let endpoints = FakeEndpointGetter {
            on_endpoint_by_id: Some(Box::new(|id| (id == 12).then(web))),
            on_endpoint_by_ip: Some(Box::new(|_| None)),
        };
        let sources = EndpointSources {
            endpoints: &endpoints,
            identities: &NoopIdentityGetter,
        };
        let (src, dst) = decode_endpoints(&ev(EGRESS), Some(ADDRS), &sources);
        assert_eq!(
            (src.id, src.identity, src.pod_name.as_str()),
            (12, 4242, "web-0")
        );
        assert_eq!(src.labels, ["k8s:app=web"]);
        assert_eq!((dst.id, dst.identity), (0, 2));
        assert_eq!(dst.labels, ["reserved:world"]);
    }

    #[test]
    fn ingress_puts_the_endpoint_on_the_destination_side() {
        let endpoints = FakeEndpointGetter {
            on_endpoint_by_id: Some(Box::new(|_| Some(web()))),
            on_endpoint_by_ip: Some(Box::new(|_| None)),
        };
        let identities = FakeIdentityGetter {
            on_identity_labels: Some(Box::new(|_| {
                Some(vec!["k8s:app=db".to_string(), format!("{NAMESPACE_LABEL}prod")].into())
            })),
        };
        let sources = EndpointSources {
            endpoints: &endpoints,
            identities: &identities,
        };
        let event = FlowEvent {
            src_identity: 777,
            dst_identity: 4242,
            ..ev(INGRESS)
        };
        let (src, dst) = decode_endpoints(&event, Some(ADDRS), &sources);
        assert_eq!(dst.pod_name, "web-0");
        assert_eq!((src.identity, src.namespace.as_str()), (777, "prod"));
    }

    #[test]
    fn without_getters_only_identities_and_reserved_labels_remain() {
        let sources = EndpointSources {
            endpoints: &NoopEndpointGetter,
            identities: &NoopIdentityGetter,
        };
        let (src, dst) = decode_endpoints(&ev(EGRESS), None, &sources);
        assert_eq!((src.identity, src.labels.len()), (4242, 0));
        assert_eq!(dst.labels, ["reserved:world"]);
    }
}
