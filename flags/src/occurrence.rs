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

/// Which end of a flow an endpoint filter looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// Source or destination (`--pod`): one filter per side, ORed.
    Either,
    /// Source only (`--from-pod`).
    From,
    /// Destination only (`--to-pod`).
    To,
}

/// One filter flag with its parsed value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Filter {
    Not,
    Uuid(String),
    NodeName(String),
    NodeLabel(String),
    Cluster(Side, String),
    Protocol(String),
    TcpFlags(TcpFlags),
    EventType(EventTypeFilter),
    Verdict(Verdict),
    DropReasonDesc(DropReason),
    IpTraceId(u64),
    Fqdn(Side, String),
    Ip(Side, String),
    SnatIp(String),
    IpVersion(IpVersion),
    Pod(Side, String),
    /// A namespace for pod and service filters; empty for "any namespace".
    Namespace(Side, String),
    Label(Side, String),
    Service(Side, String),
    Port(Side, String),
    Workload(Side, Workload),
    Identity(Side, u32),
    TrafficDirection(TrafficDirection),
    Interface(String),
    Encrypted(bool),
    Policy(String),
    PolicyKind(String),
    AllowedBy(String),
    DeniedBy(String),
    DropReason(u32),
    DenyKind(PolicyVerdictKind),
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
    /// Adds every value of the flag with clap id `id`.
    fn add<T>(&mut self, id: &'static str, values: &[T], filter: impl Fn(&T) -> Filter) {
        let indices: Vec<usize> = self
            .matches
            .try_get_raw(id)
            .ok()
            .flatten()
            .and_then(|_| self.matches.indices_of(id))
            .map(Iterator::collect)
            .unwrap_or_default();
        let flag = long_name(id);
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

/// The long flag of a clap id (`from_pod` → `from-pod`), for messages.
fn long_name(id: &'static str) -> &'static str {
    LONG_NAMES
        .iter()
        .find(|(i, _)| *i == id)
        .map_or(id, |(_, long)| long)
}

/// Ids whose long flag differs from the id.
const LONG_NAMES: &[(&str, &str)] = &[
    ("node_name", "node-name"),
    ("node_label", "node-label"),
    ("from_cluster", "from-cluster"),
    ("to_cluster", "to-cluster"),
    ("tcp_flags", "tcp-flags"),
    ("drop_reason_desc", "drop-reason-desc"),
    ("ip_trace_id", "ip-trace-id"),
    ("from_fqdn", "from-fqdn"),
    ("to_fqdn", "to-fqdn"),
    ("from_ip", "from-ip"),
    ("to_ip", "to-ip"),
    ("snat_ip", "snat-ip"),
    ("ip_version", "ip-version"),
    ("from_pod", "from-pod"),
    ("to_pod", "to-pod"),
    ("from_namespace", "from-namespace"),
    ("to_namespace", "to-namespace"),
    ("all_namespaces", "all-namespaces"),
    ("from_all_namespaces", "from-all-namespaces"),
    ("to_all_namespaces", "to-all-namespaces"),
    ("from_label", "from-label"),
    ("to_label", "to-label"),
    ("from_service", "from-service"),
    ("to_service", "to-service"),
    ("from_port", "from-port"),
    ("to_port", "to-port"),
    ("from_workload", "from-workload"),
    ("to_workload", "to-workload"),
    ("from_identity", "from-identity"),
    ("to_identity", "to-identity"),
    ("traffic_direction", "traffic-direction"),
    ("policy_kind", "policy-kind"),
    ("allowed_by", "allowed-by"),
    ("denied_by", "denied-by"),
    ("drop_reason", "drop-reason"),
    ("default_deny", "default-deny"),
    ("explicit_deny", "explicit-deny"),
];

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
    c.add("node_name", &a.node_name, |v| Filter::NodeName(v.clone()));
    c.add("node_label", &a.node_label, |v| {
        Filter::NodeLabel(v.clone())
    });
    c.add("protocol", &a.protocol, |v| Filter::Protocol(v.clone()));
    c.add("tcp_flags", &a.tcp_flags, |v| Filter::TcpFlags(*v));
    c.add("type", &a.r#type, |v| Filter::EventType(*v));
    c.add("verdict", &a.verdict, |v| Filter::Verdict(*v));
    c.add("drop_reason_desc", &a.drop_reason_desc, |v| {
        Filter::DropReasonDesc(*v)
    });
    c.add("ip_trace_id", &a.ip_trace_id, |v| Filter::IpTraceId(*v));
    c.add("snat_ip", &a.snat_ip, |v| Filter::SnatIp(v.clone()));
    c.add("ipv4", &a.ipv4, |_| Filter::IpVersion(IpVersion::IPv4));
    c.add("ipv6", &a.ipv6, |_| Filter::IpVersion(IpVersion::IPv6));
    c.add("ip_version", &a.ip_version, |v| Filter::IpVersion(*v));
    c.add("traffic_direction", &a.traffic_direction, |v| {
        Filter::TrafficDirection(*v)
    });
    c.add("interface", &a.interface, |v| Filter::Interface(v.clone()));
    c.add("encrypted", &a.encrypted, |_| Filter::Encrypted(true));
    c.add("unencrypted", &a.unencrypted, |_| Filter::Encrypted(false));
}

/// The either-side, from and to variants of each endpoint flag.
fn collect_endpoints(c: &mut Collector<'_>, a: &FilterArgs) {
    use Side::{Either, From, To};
    let text = |f: fn(Side, String) -> Filter, side| move |v: &String| f(side, v.clone());
    for (id, values, side) in [
        ("cluster", &a.cluster, Either),
        ("from_cluster", &a.from_cluster, From),
        ("to_cluster", &a.to_cluster, To),
    ] {
        c.add(id, values, text(Filter::Cluster, side));
    }
    for (id, values, side) in [
        ("fqdn", &a.fqdn, Either),
        ("from_fqdn", &a.from_fqdn, From),
        ("to_fqdn", &a.to_fqdn, To),
    ] {
        c.add(id, values, text(Filter::Fqdn, side));
    }
    for (id, values, side) in [
        ("ip", &a.ip, Either),
        ("from_ip", &a.from_ip, From),
        ("to_ip", &a.to_ip, To),
    ] {
        c.add(id, values, text(Filter::Ip, side));
    }
    for (id, values, side) in [
        ("pod", &a.pod, Either),
        ("from_pod", &a.from_pod, From),
        ("to_pod", &a.to_pod, To),
    ] {
        c.add(id, values, text(Filter::Pod, side));
    }
    for (id, values, side) in [
        ("namespace", &a.namespace, Either),
        ("from_namespace", &a.from_namespace, From),
        ("to_namespace", &a.to_namespace, To),
    ] {
        c.add(id, values, text(Filter::Namespace, side));
    }
    for (id, values, side) in [
        ("all_namespaces", &a.all_namespaces, Either),
        ("from_all_namespaces", &a.from_all_namespaces, From),
        ("to_all_namespaces", &a.to_all_namespaces, To),
    ] {
        c.add(id, values, move |_| Filter::Namespace(side, String::new()));
    }
    for (id, values, side) in [
        ("label", &a.label, Either),
        ("from_label", &a.from_label, From),
        ("to_label", &a.to_label, To),
    ] {
        c.add(id, values, text(Filter::Label, side));
    }
    for (id, values, side) in [
        ("service", &a.service, Either),
        ("from_service", &a.from_service, From),
        ("to_service", &a.to_service, To),
    ] {
        c.add(id, values, text(Filter::Service, side));
    }
    for (id, values, side) in [
        ("port", &a.port, Either),
        ("from_port", &a.from_port, From),
        ("to_port", &a.to_port, To),
    ] {
        c.add(id, values, text(Filter::Port, side));
    }
    for (id, values, side) in [
        ("workload", &a.workload, Either),
        ("from_workload", &a.from_workload, From),
        ("to_workload", &a.to_workload, To),
    ] {
        c.add(id, values, move |v| Filter::Workload(side, v.clone()));
    }
    for (id, values, side) in [
        ("identity", &a.identity, Either),
        ("from_identity", &a.from_identity, From),
        ("to_identity", &a.to_identity, To),
    ] {
        c.add(id, values, move |v| Filter::Identity(side, *v));
    }
}

fn collect_policy(c: &mut Collector<'_>, a: &FilterArgs) {
    c.add("policy", &a.policy, |v| Filter::Policy(v.clone()));
    c.add("policy_kind", &a.policy_kind, |v| {
        Filter::PolicyKind(v.clone())
    });
    c.add("allowed_by", &a.allowed_by, |v| {
        Filter::AllowedBy(v.clone())
    });
    c.add("denied_by", &a.denied_by, |v| Filter::DeniedBy(v.clone()));
    c.add("drop_reason", &a.drop_reason, |v| Filter::DropReason(*v));
    c.add("default_deny", &a.default_deny, |_| {
        Filter::DenyKind(PolicyVerdictKind::DefaultDeny)
    });
    c.add("explicit_deny", &a.explicit_deny, |_| {
        Filter::DenyKind(PolicyVerdictKind::ExplicitDeny)
    });
}
