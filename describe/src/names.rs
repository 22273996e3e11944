//! Who talked to whom: the endpoint names, addresses and identities of a flow's two ends,
//! as the dashboard's table and panels and the reproduce commands print them. Every
//! flow-supplied string is sanitized here.

use observe_proto::flow::{Endpoint, Flow};

use crate::sanitize::cleaned;

/// The reserved identity of the node itself, from its own point of view.
const HOST_IDENTITY: u32 = 1;

/// Which end of a flow: the sender or the receiver (not a traffic direction, which says
/// whose ingress or egress policy applies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowEnd {
    /// The sender.
    Source,
    /// The receiver.
    Destination,
}

/// The endpoint of `end`, if the agent resolved it.
pub fn endpoint(flow: &Flow, end: FlowEnd) -> Option<&Endpoint> {
    match end {
        FlowEnd::Source => flow.source.as_ref(),
        FlowEnd::Destination => flow.destination.as_ref(),
    }
}

/// The IP address of `end`, if the flow has an IP header.
pub fn address(flow: &Flow, end: FlowEnd) -> Option<String> {
    let ip = flow.ip.as_ref()?;
    let addr = match end {
        FlowEnd::Source => &ip.source,
        FlowEnd::Destination => &ip.destination,
    };
    (!addr.is_empty()).then(|| cleaned(addr))
}

/// `namespace/pod` of `end`, if the endpoint is a pod.
pub fn pod(flow: &Flow, end: FlowEnd) -> Option<String> {
    let ep = endpoint(flow, end)?;
    (!ep.pod_name.is_empty()).then(|| cleaned(&format!("{}/{}", ep.namespace, ep.pod_name)))
}

/// The best human name of `end`: `ns/pod`, else the node that saw the flow when the end
/// is that node itself (the host identity: `node/n1 10.254.0.1`), else a DNS name, else a
/// reserved identity name with the address (`world 203.0.113.7`), else the address,
/// else `?`.
pub fn name(flow: &Flow, end: FlowEnd) -> String {
    if let Some(pod) = pod(flow, end) {
        return pod;
    }
    if identity(flow, end) == HOST_IDENTITY && !flow.node_name.is_empty() {
        let node = format!("node/{}", cleaned(&flow.node_name));
        return match address(flow, end) {
            Some(a) => format!("{node} {a}"),
            None => node,
        };
    }
    let names = match end {
        FlowEnd::Source => &flow.source_names,
        FlowEnd::Destination => &flow.destination_names,
    };
    if let Some(dns) = names.first() {
        return cleaned(dns);
    }
    let addr = address(flow, end);
    match (reserved(flow, end), addr) {
        (Some(r), Some(a)) => format!("{r} {a}"),
        (Some(r), None) => r,
        (None, Some(a)) => a,
        (None, None) => "?".into(),
    }
}

/// `world`, `host`, ... when the endpoint's labels mark a reserved identity.
fn reserved(flow: &Flow, end: FlowEnd) -> Option<String> {
    let ep = endpoint(flow, end)?;
    ep.labels
        .iter()
        .find_map(|l| l.strip_prefix("reserved:"))
        .map(cleaned)
}

/// The security identity of `end` (0 when unknown).
pub fn identity(flow: &Flow, end: FlowEnd) -> u32 {
    endpoint(flow, end).map_or(0, |e| e.identity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use observe_proto::flow::Ip;

    fn flow() -> Flow {
        Flow {
            ip: Some(Ip {
                source: "10.0.0.1".into(),
                destination: "203.0.113.7".into(),
                ..Default::default()
            }),
            source: Some(Endpoint {
                namespace: "shop".into(),
                pod_name: "frontend".into(),
                ..Default::default()
            }),
            destination: Some(Endpoint {
                labels: vec!["reserved:world".into()],
                identity: 2,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn pods_are_named_by_namespace_and_name_and_world_by_identity_and_address() {
        let f = flow();
        assert_eq!(name(&f, FlowEnd::Source), "shop/frontend");
        assert_eq!(name(&f, FlowEnd::Destination), "world 203.0.113.7");
        assert_eq!(identity(&f, FlowEnd::Destination), 2);
    }

    #[test]
    fn escape_sequences_in_pod_names_are_neutralized() {
        let mut f = flow();
        f.source.as_mut().unwrap().pod_name = "x\u{1b}[31m".into();
        assert_eq!(name(&f, FlowEnd::Source), "shop/x^[[31m");
    }

    #[test]
    fn the_node_itself_is_named_after_the_node_that_saw_the_flow() {
        let mut f = flow();
        f.node_name = "n1".into();
        f.destination = Some(Endpoint {
            labels: vec!["k8s:role=locked".into(), "reserved:host".into()],
            identity: HOST_IDENTITY,
            ..Default::default()
        });
        assert_eq!(name(&f, FlowEnd::Destination), "node/n1 203.0.113.7");
        f.node_name.clear();
        assert_eq!(name(&f, FlowEnd::Destination), "host 203.0.113.7");
    }
}
