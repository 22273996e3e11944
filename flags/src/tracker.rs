//! One list of filters (the allow list, or the deny list that `--not` feeds) being built
//! from flags, with Hubble's semantics:
//!
//! - Every flag updates two filters, `left` and `right`, which end up ORed. Most flags set
//!   the same field on both. Either-side flags (`--pod`, `--ip`, ...) set the source field
//!   on the left and the destination field on the right, so `--ip X` matches flows from
//!   or to X. When both filters end up equal, only one is sent.
//! - Values of one field are ORed by the server, fields of one filter ANDed.
//! - Namespace flags are not fields: when the list is finished they turn pod and service
//!   names into `namespace/name` (adding `namespace/` alone when no pod or service was
//!   given), on the source side (`--from-namespace`), the destination side
//!   (`--to-namespace`) or source on the left and destination on the right (`-n`).

use observe_proto::flow::{FlowFilter, HttpHeader, NetworkInterface};

use crate::error::FlagsError;
use crate::occurrence::{Filter, Peer};

/// Filters being built for one list.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    left: Option<FlowFilter>,
    right: Option<FlowFilter>,
    /// Namespaces of `-n` / `-A` (empty string: any namespace).
    ns: Vec<String>,
    /// Namespaces of `--from-namespace` / `--from-all-namespaces`.
    src_ns: Vec<String>,
    /// Namespaces of `--to-namespace` / `--to-all-namespaces`.
    dst_ns: Vec<String>,
    /// Flags the user set in this list, in order of first use (for conflicts).
    changed: Vec<&'static str>,
}

impl Tracker {
    /// Whether anything was added to this list.
    pub(crate) fn is_empty(&self) -> bool {
        self.left.is_none() && self.right.is_none() && self.has_no_namespaces()
    }

    fn has_no_namespaces(&self) -> bool {
        self.ns.is_empty() && self.src_ns.is_empty() && self.dst_ns.is_empty()
    }

    /// Records that the user set `flag` (defaults are not recorded).
    pub(crate) fn track(&mut self, flag: &'static str) {
        if !self.changed.contains(&flag) {
            self.changed.push(flag);
        }
    }

    /// Flags the user set in this list.
    pub(crate) fn changed(&self) -> &[&'static str] {
        &self.changed
    }

    /// The filters as they stand, before namespaces are folded in (for conflict checks).
    pub(crate) fn sides(&self) -> impl Iterator<Item = &FlowFilter> {
        self.left.iter().chain(self.right.iter())
    }

    /// The namespace lists, for conflict checks: (either side, source, destination).
    pub(crate) fn namespaces(&self) -> (&[String], &[String], &[String]) {
        (&self.ns, &self.src_ns, &self.dst_ns)
    }

    fn both(&mut self, update: impl Fn(&mut FlowFilter)) {
        update(self.left.get_or_insert_with(FlowFilter::default));
        update(self.right.get_or_insert_with(FlowFilter::default));
    }

    /// `source` (for [`Peer::Source`]) or `destination` (for [`Peer::Destination`]) on both
    /// sides, or for [`Peer::Either`] `source` on the left and `destination` on the right.
    fn at_peer(
        &mut self,
        peer: Peer,
        source: impl Fn(&mut FlowFilter),
        destination: impl Fn(&mut FlowFilter),
    ) {
        match peer {
            Peer::Source => self.both(source),
            Peer::Destination => self.both(destination),
            Peer::Either => {
                source(self.left.get_or_insert_with(FlowFilter::default));
                destination(self.right.get_or_insert_with(FlowFilter::default));
            }
        }
    }

    /// Adds one filter flag's value.
    pub(crate) fn apply(&mut self, filter: &Filter) {
        match filter {
            Filter::Not => {}
            Filter::Namespace(peer, ns) => self.add_namespace(*peer, ns),
            Filter::Cluster(..)
            | Filter::Fqdn(..)
            | Filter::Ip(..)
            | Filter::Pod(..)
            | Filter::Label(..)
            | Filter::Service(..)
            | Filter::Port(..)
            | Filter::Workload(..)
            | Filter::Identity(..) => self.apply_endpoint(filter),
            Filter::Policy(_)
            | Filter::PolicyKind(_)
            | Filter::AllowedBy(_)
            | Filter::DeniedBy(_)
            | Filter::DropReason(_)
            | Filter::DenyKind(_) => self.apply_policy(filter),
            _ => self.apply_general(filter),
        }
    }

    fn add_namespace(&mut self, peer: Peer, ns: &str) {
        let list = match peer {
            Peer::Either => &mut self.ns,
            Peer::Source => &mut self.src_ns,
            Peer::Destination => &mut self.dst_ns,
        };
        list.push(ns.to_string());
    }

    fn apply_general(&mut self, filter: &Filter) {
        match filter.clone() {
            Filter::Uuid(v) => self.both(|f| f.uuid.push(v.clone())),
            Filter::NodeName(v) => self.both(|f| f.node_name.push(v.clone())),
            Filter::NodeLabel(v) => self.both(|f| f.node_labels.push(v.clone())),
            Filter::Protocol(v) => self.both(|f| f.protocol.push(v.clone())),
            Filter::TcpFlags(v) => self.both(|f| f.tcp_flags.push(v)),
            Filter::EventType(v) => self.both(|f| f.event_type.push(v)),
            Filter::Verdict(v) => self.both(|f| f.verdict.push(v.into())),
            Filter::StagedVerdict(v) => self.both(|f| f.staged_verdict.push(v.into())),
            Filter::DropReasonDesc(v) => self.both(|f| f.drop_reason_desc.push(v.into())),
            Filter::IpTraceId(v) => self.both(|f| f.ip_trace_id.push(v)),
            Filter::SnatIp(v) => self.both(|f| f.source_ip_xlated.push(v.clone())),
            Filter::IpVersion(v) => self.both(|f| f.ip_version.push(v.into())),
            Filter::TrafficDirection(v) => self.both(|f| f.traffic_direction.push(v.into())),
            Filter::Interface(name) => self.both(|f| {
                f.interface.push(NetworkInterface {
                    index: 0,
                    name: name.clone(),
                })
            }),
            Filter::Encrypted(v) => self.both(|f| f.encrypted.push(v)),
            Filter::HttpStatus(v) => self.both(|f| f.http_status_code.push(v.clone())),
            Filter::HttpMethod(v) => self.both(|f| f.http_method.push(v.clone())),
            Filter::HttpPath(v) => self.both(|f| f.http_path.push(v.clone())),
            Filter::HttpUrl(v) => self.both(|f| f.http_url.push(v.clone())),
            Filter::HttpHeader(key, value) => self.both(|f| {
                f.http_header.push(HttpHeader {
                    key: key.clone(),
                    value: value.clone(),
                })
            }),
            _ => {}
        }
    }

    fn apply_endpoint(&mut self, filter: &Filter) {
        match filter.clone() {
            Filter::Cluster(peer, v) => self.at_peer(
                peer,
                |f| f.source_cluster_name.push(v.clone()),
                |f| f.destination_cluster_name.push(v.clone()),
            ),
            Filter::Fqdn(peer, v) => self.at_peer(
                peer,
                |f| f.source_fqdn.push(v.clone()),
                |f| f.destination_fqdn.push(v.clone()),
            ),
            Filter::Ip(peer, v) => self.at_peer(
                peer,
                |f| f.source_ip.push(v.clone()),
                |f| f.destination_ip.push(v.clone()),
            ),
            Filter::Pod(peer, v) => self.at_peer(
                peer,
                |f| f.source_pod.push(v.clone()),
                |f| f.destination_pod.push(v.clone()),
            ),
            Filter::Label(peer, v) => self.at_peer(
                peer,
                |f| f.source_label.push(v.clone()),
                |f| f.destination_label.push(v.clone()),
            ),
            Filter::Service(peer, v) => self.at_peer(
                peer,
                |f| f.source_service.push(v.clone()),
                |f| f.destination_service.push(v.clone()),
            ),
            Filter::Port(peer, v) => self.at_peer(
                peer,
                |f| f.source_port.push(v.clone()),
                |f| f.destination_port.push(v.clone()),
            ),
            Filter::Workload(peer, v) => self.at_peer(
                peer,
                |f| f.source_workload.push(v.clone()),
                |f| f.destination_workload.push(v.clone()),
            ),
            Filter::Identity(peer, v) => self.at_peer(
                peer,
                |f| f.source_identity.push(v),
                |f| f.destination_identity.push(v),
            ),
            _ => {}
        }
    }

    fn apply_policy(&mut self, filter: &Filter) {
        match filter.clone() {
            Filter::Policy(v) => self.both(|f| f.policy.push(v.clone())),
            Filter::PolicyKind(v) => self.both(|f| f.policy_kind.push(v.clone())),
            Filter::AllowedBy(v) => self.both(|f| f.allowed_by.push(v.clone())),
            Filter::DeniedBy(v) => self.both(|f| f.denied_by.push(v.clone())),
            Filter::DropReason(v) => self.both(|f| f.drop_reason.push(v)),
            Filter::DenyKind(v) => self.both(|f| f.deny_kind.push(v.into())),
            _ => {}
        }
    }

    /// The finished list: namespaces folded in, one filter when both sides are equal.
    pub(crate) fn finish(mut self) -> Vec<FlowFilter> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut left = self.left.take().unwrap_or_default();
        let mut right = self.right.take().unwrap_or_default();
        for f in [&mut left, &mut right] {
            fold_destination(f, &self.dst_ns);
            fold_source(f, &self.src_ns);
        }
        fold_source(&mut left, &self.ns);
        fold_destination(&mut right, &self.ns);
        if left == right {
            vec![left]
        } else {
            vec![left, right]
        }
    }
}

/// Puts the source pods and services of `f` into `namespaces` (a namespace alone when
/// the filter names neither).
fn fold_source(f: &mut FlowFilter, namespaces: &[String]) {
    if namespaces.is_empty() {
        return;
    }
    if f.source_pod.is_empty() && f.source_service.is_empty() {
        f.source_pod.push(String::new());
    }
    f.source_pod = with_namespaces(&f.source_pod, namespaces);
    f.source_service = with_namespaces(&f.source_service, namespaces);
}

/// [`fold_source`] for the destination.
fn fold_destination(f: &mut FlowFilter, namespaces: &[String]) {
    if namespaces.is_empty() {
        return;
    }
    if f.destination_pod.is_empty() && f.destination_service.is_empty() {
        f.destination_pod.push(String::new());
    }
    f.destination_pod = with_namespaces(&f.destination_pod, namespaces);
    f.destination_service = with_namespaces(&f.destination_service, namespaces);
}

/// `name` → `ns/name` for every namespace; names that already have one stay as they are.
fn with_namespaces(names: &[String], namespaces: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for name in names {
        if name.contains('/') {
            out.push(name.clone());
        } else {
            out.extend(namespaces.iter().map(|ns| format!("{ns}/{name}")));
        }
    }
    out
}

/// Checks namespace flags against pods and services naming another namespace, and pods
/// against services on the same side.
pub(crate) fn check_namespaces(t: &Tracker) -> Result<(), FlagsError> {
    let (ns, src_ns, dst_ns) = t.namespaces();
    for f in t.sides() {
        let checks: [(&[String], &[String]); 8] = [
            (ns, &f.source_pod),
            (ns, &f.source_service),
            (ns, &f.destination_pod),
            (ns, &f.destination_service),
            (src_ns, &f.source_pod),
            (src_ns, &f.source_service),
            (dst_ns, &f.destination_pod),
            (dst_ns, &f.destination_service),
        ];
        for (namespaces, names) in checks {
            namespace_conflict(namespaces, names)?;
        }
        service_conflict(&f.source_pod, &f.source_service)?;
        service_conflict(&f.destination_pod, &f.destination_service)?;
    }
    Ok(())
}

fn namespace_of(name: &str) -> Option<&str> {
    name.split_once('/').map(|(ns, _)| ns)
}

fn namespace_conflict(namespaces: &[String], names: &[String]) -> Result<(), FlagsError> {
    for ns in namespaces {
        for name in names {
            if let Some(other) = namespace_of(name)
                && !other.is_empty()
                && other != ns
            {
                return Err(FlagsError::NamespaceConflict {
                    namespace: ns.clone(),
                    name: name.clone(),
                });
            }
        }
    }
    Ok(())
}

fn service_conflict(pods: &[String], services: &[String]) -> Result<(), FlagsError> {
    for pod in pods {
        let Some(pod_ns) = namespace_of(pod).filter(|ns| !ns.is_empty()) else {
            continue;
        };
        for service in services {
            if namespace_of(service) != Some(pod_ns) {
                return Err(FlagsError::ServiceNamespace {
                    service: service.clone(),
                    pod: pod_ns.to_string(),
                });
            }
        }
    }
    Ok(())
}
