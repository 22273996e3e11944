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

/// What the getters said about one side of an event: its endpoint, and the labels of its
/// identity when the endpoint does not label it. Shared with the getters' own state.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Side {
    info: Option<Arc<EndpointInfo>>,
    labels: Option<Arc<[String]>>,
}

impl Side {
    /// Looks up one side: `info` is its endpoint if known, `identity` what the event says.
    fn look_up(
        info: Option<Arc<EndpointInfo>>,
        identity: u32,
        identities: &dyn IdentityGetter,
    ) -> Self {
        let identity = effective_identity(identity, info.as_deref());
        let labelled = info.as_ref().is_some_and(|i| !i.labels.is_empty());
        let labels = (!labelled && identity != 0)
            .then(|| identities.identity_labels(identity))
            .flatten();
        Self { info, labels }
    }

    /// The side's endpoint, if known.
    pub(super) fn info(&self) -> Option<&Arc<EndpointInfo>> {
        self.info.as_ref()
    }

    /// The labels of its identity, looked up when the endpoint does not label it.
    pub(super) fn identity_labels(&self) -> Option<&Arc<[String]>> {
        self.labels.as_ref()
    }

    /// The side's namespace: the endpoint's, else the one its labels name.
    pub(crate) fn namespace(&self) -> Option<&str> {
        match &self.info {
            Some(info) if !info.namespace.is_empty() => Some(&info.namespace),
            Some(info) if !info.labels.is_empty() => namespace_from_labels(&info.labels),
            _ => self.labels.as_deref().and_then(namespace_from_labels),
        }
    }
}

/// Looks up source and destination of the event.
pub(super) fn look_up_sides(
    ev: &FlowEvent,
    addrs: Option<(IpAddr, IpAddr)>,
    sources: &EndpointSources<'_>,
) -> [Side; 2] {
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
    [
        Side::look_up(src_info, ev.src_identity, sources.identities),
        Side::look_up(dst_info, ev.dst_identity, sources.identities),
    ]
}

/// Source and destination of the event, from what [`look_up_sides`] found.
pub(super) fn decode_endpoints(ev: &FlowEvent, sides: &[Side; 2]) -> (Endpoint, Endpoint) {
    (
        endpoint(&sides[0], ev.src_identity),
        endpoint(&sides[1], ev.dst_identity),
    )
}

/// One side known only by its address and identity (an L7 record's client or server).
pub(super) fn endpoint_at(addr: IpAddr, identity: u32, sources: &EndpointSources<'_>) -> Endpoint {
    let info = by_ip(Some(addr), sources);
    endpoint(&Side::look_up(info, identity, sources.identities), identity)
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

/// The datapath's identity is what the verdict was computed with (the registry may
/// already have moved on); the endpoint's only when the event has none.
fn effective_identity(identity: u32, info: Option<&EndpointInfo>) -> u32 {
    match (identity, info) {
        (0, Some(info)) => info.identity,
        _ => identity,
    }
}

/// One side: the endpoint's fields when known, else what the identity says.
pub(super) fn endpoint(side: &Side, identity: u32) -> Endpoint {
    let info = side.info.as_deref();
    let identity = effective_identity(identity, info);
    let mut out = Endpoint {
        identity,
        ..Default::default()
    };
    if let Some(info) = info {
        out.id = info.id;
        out.pod_name.clone_from(&info.pod_name);
        out.labels.clone_from(&info.labels);
    }
    if out.labels.is_empty() {
        out.labels = identity_labels(identity, side.labels.as_deref());
    }
    out.namespace = side.namespace().unwrap_or_default().to_string();
    out
}

/// Labels of an identity; reserved identities are labelled even without a getter.
fn identity_labels(identity: u32, known: Option<&[String]>) -> Vec<String> {
    if identity == 0 {
        return Vec::new();
    }
    if let Some(labels) = known {
        return labels.to_vec();
    }
    reserved_identity_name(identity)
        .map(|name| vec![format!("reserved:{name}")])
        .unwrap_or_default()
}

fn namespace_from_labels(labels: &[String]) -> Option<&str> {
    labels.iter().find_map(|l| l.strip_prefix(NAMESPACE_LABEL))
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

    fn decode(
        ev: &FlowEvent,
        addrs: Option<(IpAddr, IpAddr)>,
        sources: &EndpointSources<'_>,
    ) -> (Endpoint, Endpoint) {
        decode_endpoints(ev, &look_up_sides(ev, addrs, sources))
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
        let (src, dst) = decode(&ev(EGRESS), Some(ADDRS), &sources);
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
        let (src, dst) = decode(&event, Some(ADDRS), &sources);
        assert_eq!(dst.pod_name, "web-0");
        assert_eq!((src.identity, src.namespace.as_str()), (777, "prod"));
    }

    #[test]
    fn without_getters_only_identities_and_reserved_labels_remain() {
        let sources = EndpointSources {
            endpoints: &NoopEndpointGetter,
            identities: &NoopIdentityGetter,
        };
        let (src, dst) = decode(&ev(EGRESS), None, &sources);
        assert_eq!((src.identity, src.labels.len()), (4242, 0));
        assert_eq!(dst.labels, ["reserved:world"]);
    }
}
