//! How much of a stored flow a query's filters look at ([`Detail`]), judged from the
//! fields its filters set: a query filtering on what the event itself carries (verdict,
//! addresses, ports, protocol, flags, direction, event type, interface, node) runs its
//! filters on a flow built without the endpoints and the policy attribution, and one that
//! also filters on endpoints (pods, labels, identities, workloads) on a flow without the
//! attribution. Only events that pass are built whole.
//!
//! Anything not listed here, including filter fields added to the proto later, asks for the
//! whole flow, so a query never filters on a field that was not built.

use observe_proto::flow::FlowFilter;

use crate::decode::Detail;

/// The detail every filter of the query can be judged on.
pub(super) fn detail_of(whitelist: &[FlowFilter], blacklist: &[FlowFilter]) -> Detail {
    whitelist
        .iter()
        .chain(blacklist)
        .map(detail_needed)
        .max()
        .unwrap_or(Detail::Header)
}

/// The detail one filter needs.
fn detail_needed(filter: &FlowFilter) -> Detail {
    let beyond_header = without_header_fields(filter.clone());
    if beyond_header == FlowFilter::default() {
        Detail::Header
    } else if without_endpoint_fields(beyond_header) == FlowFilter::default() {
        Detail::Endpoints
    } else {
        Detail::Full
    }
}

/// `filter` without the fields a [`Detail::Header`] flow has.
fn without_header_fields(filter: FlowFilter) -> FlowFilter {
    FlowFilter {
        source_ip: Vec::new(),
        source_ip_xlated: Vec::new(),
        destination_ip: Vec::new(),
        traffic_direction: Vec::new(),
        verdict: Vec::new(),
        drop_reason_desc: Vec::new(),
        interface: Vec::new(),
        event_type: Vec::new(),
        protocol: Vec::new(),
        source_port: Vec::new(),
        destination_port: Vec::new(),
        reply: Vec::new(),
        tcp_flags: Vec::new(),
        node_name: Vec::new(),
        ip_version: Vec::new(),
        ..filter
    }
}

/// `filter` without the fields the endpoints add ([`Detail::Endpoints`]).
fn without_endpoint_fields(filter: FlowFilter) -> FlowFilter {
    FlowFilter {
        source_pod: Vec::new(),
        source_label: Vec::new(),
        source_workload: Vec::new(),
        source_identity: Vec::new(),
        source_cluster_name: Vec::new(),
        destination_pod: Vec::new(),
        destination_label: Vec::new(),
        destination_workload: Vec::new(),
        destination_identity: Vec::new(),
        destination_cluster_name: Vec::new(),
        ..filter
    }
}

#[cfg(test)]
mod tests;
