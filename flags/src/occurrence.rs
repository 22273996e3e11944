//! Reconstructing the command-line order of filter flags.
//!
//! clap keeps the values of each flag together, but `--not` negates whatever filter flag
//! comes next, so the order across flags matters. Every flag occurrence gets its argv
//! position from [`ArgMatches::indices_of`] (clap counts a flag and its value as separate
//! positions, so positions compare across flags), and the occurrences are sorted by it.

use clap::ArgMatches;
use observe_proto::flow::{
    DropReason, EventTypeFilter, IpVersion, PolicyVerdictKind, TcpFlags, TrafficDirection, Verdict,
    Workload,
};

use crate::args::FilterArgs;

/// Which peer of a flow (its source or its destination) an endpoint filter looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Peer {
    /// Source or destination (`--pod`): one filter per peer, ORed.
    Either,
    /// Source only (`--from-pod`).
    Source,
    /// Destination only (`--to-pod`).
    Destination,
}

/// One filter flag with its parsed value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Filter {
    Not,
    Uuid(String),
    NodeName(String),
    NodeLabel(String),
    Cluster(Peer, String),
    Protocol(String),
    TcpFlags(TcpFlags),
    EventType(EventTypeFilter),
    Verdict(Verdict),
    DropReasonDesc(DropReason),
    IpTraceId(u64),
    Fqdn(Peer, String),
    Ip(Peer, String),
    SnatIp(String),
    IpVersion(IpVersion),
    Pod(Peer, String),
    /// A namespace for pod and service filters; empty for "any namespace".
    Namespace(Peer, String),
    Label(Peer, String),
    Service(Peer, String),
    Port(Peer, String),
    Workload(Peer, Workload),
    Identity(Peer, u32),
    TrafficDirection(TrafficDirection),
    Interface(String),
    Encrypted(bool),
    HttpStatus(String),
    HttpMethod(String),
    HttpPath(String),
    HttpUrl(String),
    HttpHeader(String, String),
    Policy(String),
    PolicyKind(String),
    AllowedBy(String),
    DeniedBy(String),
    DropReason(u32),
    DenyKind(PolicyVerdictKind),
    StagedVerdict(Verdict),
}

/// A filter flag where it appeared.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Occurrence {
    /// Position on the command line (comparable across flags).
    pub index: usize,
    /// The long flag name, e.g. `from-pod` (conflicts and defaults are per flag).
    pub flag: &'static str,
    pub filter: Filter,
}

/// Collects occurrences of one flag after another.
struct Collector<'a> {
    matches: &'a ArgMatches,
    out: Vec<Occurrence>,
    /// Positions handed to values clap has no index for (a `FilterArgs` built in code):
    /// after everything typed, in field order.
    synthetic: usize,
}

impl Collector<'_> {
    /// Adds every value of the long flag `flag` (`from-pod`; its clap id is `from_pod`).
    fn add<T>(&mut self, flag: &'static str, values: &[T], filter: impl Fn(&T) -> Filter) {
        let id = flag.replace('-', "_");
        let indices: Vec<usize> = self
            .matches
            .try_get_raw(&id)
            .ok()
            .flatten()
            .and_then(|_| self.matches.indices_of(&id))
            .map(Iterator::collect)
            .unwrap_or_default();
        for (i, value) in values.iter().enumerate() {
            let index = indices.get(i).copied().unwrap_or_else(|| {
                self.synthetic += 1;
                self.synthetic
            });
            self.out.push(Occurrence {
                index,
                flag,
                filter: filter(value),
            });
        }
    }
}

/// Every filter flag occurrence of `args`, in command-line order.
pub(crate) fn collect(args: &FilterArgs, matches: &ArgMatches) -> Vec<Occurrence> {
    let mut c = Collector {
        matches,
        out: Vec::new(),
        synthetic: usize::MAX / 2,
    };
    collect_general(&mut c, args);
    collect_endpoints(&mut c, args);
    collect_policy(&mut c, args);
    // Stable: values of one flag without clap indices keep their order.
    c.out.sort_by_key(|o| o.index);
    c.out
}

fn collect_general(c: &mut Collector<'_>, a: &FilterArgs) {
    c.add("not", &a.not, |_| Filter::Not);
    c.add("uuid", &a.uuid, |v| Filter::Uuid(v.clone()));
    c.add("node-name", &a.node_name, |v| Filter::NodeName(v.clone()));
    c.add("node-label", &a.node_label, |v| {
        Filter::NodeLabel(v.clone())
    });
    c.add("protocol", &a.protocol, |v| Filter::Protocol(v.clone()));
    c.add("tcp-flags", &a.tcp_flags, |v| Filter::TcpFlags(*v));
    c.add("type", &a.r#type, |v| Filter::EventType(*v));
    c.add("verdict", &a.verdict, |v| Filter::Verdict(*v));
    c.add("staged-verdict", &a.staged_verdict, |v| {
        Filter::StagedVerdict(*v)
    });
    c.add("drop-reason-desc", &a.drop_reason_desc, |v| {
        Filter::DropReasonDesc(*v)
    });
    c.add("ip-trace-id", &a.ip_trace_id, |v| Filter::IpTraceId(*v));
    c.add("snat-ip", &a.snat_ip, |v| Filter::SnatIp(v.clone()));
    c.add("ipv4", &a.ipv4, |_| Filter::IpVersion(IpVersion::IPv4));
    c.add("ipv6", &a.ipv6, |_| Filter::IpVersion(IpVersion::IPv6));
    c.add("ip-version", &a.ip_version, |v| Filter::IpVersion(*v));
    c.add("traffic-direction", &a.traffic_direction, |v| {
        Filter::TrafficDirection(*v)
    });
    c.add("interface", &a.interface, |v| Filter::Interface(v.clone()));
    c.add("encrypted", &a.encrypted, |_| Filter::Encrypted(true));
    c.add("http-status", &a.http_status, |v| {
        Filter::HttpStatus(v.clone())
    });
    c.add("http-method", &a.http_method, |v| {
        Filter::HttpMethod(v.clone())
    });
    c.add("http-path", &a.http_path, |v| Filter::HttpPath(v.clone()));
    c.add("http-url", &a.http_url, |v| Filter::HttpUrl(v.clone()));
    c.add("http-header", &a.http_header, |(k, v)| {
        Filter::HttpHeader(k.clone(), v.clone())
    });
    c.add("unencrypted", &a.unencrypted, |_| Filter::Encrypted(false));
}

/// The either-peer, from (source) and to (destination) variants of each endpoint flag.
fn collect_endpoints(c: &mut Collector<'_>, a: &FilterArgs) {
    use Peer::{Destination, Either, Source};
    let text = |f: fn(Peer, String) -> Filter, peer| move |v: &String| f(peer, v.clone());
    for (flag, values, peer) in [
        ("cluster", &a.cluster, Either),
        ("from-cluster", &a.from_cluster, Source),
        ("to-cluster", &a.to_cluster, Destination),
    ] {
        c.add(flag, values, text(Filter::Cluster, peer));
    }
    for (flag, values, peer) in [
        ("fqdn", &a.fqdn, Either),
        ("from-fqdn", &a.from_fqdn, Source),
        ("to-fqdn", &a.to_fqdn, Destination),
    ] {
        c.add(flag, values, text(Filter::Fqdn, peer));
    }
    for (flag, values, peer) in [
        ("ip", &a.ip, Either),
        ("from-ip", &a.from_ip, Source),
        ("to-ip", &a.to_ip, Destination),
    ] {
        c.add(flag, values, text(Filter::Ip, peer));
    }
    for (flag, values, peer) in [
        ("pod", &a.pod, Either),
        ("from-pod", &a.from_pod, Source),
        ("to-pod", &a.to_pod, Destination),
    ] {
        c.add(flag, values, text(Filter::Pod, peer));
    }
    for (flag, values, peer) in [
        ("namespace", &a.namespace, Either),
        ("from-namespace", &a.from_namespace, Source),
        ("to-namespace", &a.to_namespace, Destination),
    ] {
        c.add(flag, values, text(Filter::Namespace, peer));
    }
    for (flag, values, peer) in [
        ("all-namespaces", &a.all_namespaces, Either),
        ("from-all-namespaces", &a.from_all_namespaces, Source),
        ("to-all-namespaces", &a.to_all_namespaces, Destination),
    ] {
        c.add(flag, values, move |_| {
            Filter::Namespace(peer, String::new())
        });
    }
    for (flag, values, peer) in [
        ("label", &a.label, Either),
        ("from-label", &a.from_label, Source),
        ("to-label", &a.to_label, Destination),
    ] {
        c.add(flag, values, text(Filter::Label, peer));
    }
    for (flag, values, peer) in [
        ("service", &a.service, Either),
        ("from-service", &a.from_service, Source),
        ("to-service", &a.to_service, Destination),
    ] {
        c.add(flag, values, text(Filter::Service, peer));
    }
    for (flag, values, peer) in [
        ("port", &a.port, Either),
        ("from-port", &a.from_port, Source),
        ("to-port", &a.to_port, Destination),
    ] {
        c.add(flag, values, text(Filter::Port, peer));
    }
    for (flag, values, peer) in [
        ("workload", &a.workload, Either),
        ("from-workload", &a.from_workload, Source),
        ("to-workload", &a.to_workload, Destination),
    ] {
        c.add(flag, values, move |v| Filter::Workload(peer, v.clone()));
    }
    for (flag, values, peer) in [
        ("identity", &a.identity, Either),
        ("from-identity", &a.from_identity, Source),
        ("to-identity", &a.to_identity, Destination),
    ] {
        c.add(flag, values, move |v| Filter::Identity(peer, *v));
    }
}

fn collect_policy(c: &mut Collector<'_>, a: &FilterArgs) {
    c.add("policy", &a.policy, |v| Filter::Policy(v.clone()));
    c.add("policy-kind", &a.policy_kind, |v| {
        Filter::PolicyKind(v.clone())
    });
    c.add("allowed-by", &a.allowed_by, |v| {
        Filter::AllowedBy(v.clone())
    });
    c.add("denied-by", &a.denied_by, |v| Filter::DeniedBy(v.clone()));
    c.add("drop-reason", &a.drop_reason, |v| Filter::DropReason(*v));
    c.add("default-deny", &a.default_deny, |_| {
        Filter::DenyKind(PolicyVerdictKind::DefaultDeny)
    });
    c.add("explicit-deny", &a.explicit_deny, |_| {
        Filter::DenyKind(PolicyVerdictKind::ExplicitDeny)
    });
}
