//! `observe policy suggest`: least-privilege policies from the allowed traffic a namespace
//! was seen to have. Every forwarded, non-reply flow with an end in the namespace becomes
//! a rule of the policy of that end: ingress flows allow their source to the destination,
//! egress flows their destination from the source; peers by labels (a pod's `app` label
//! when it has one, else its labels), entities for the host and other reserved
//! identities, `toFQDNs` for names the DNS proxy saw, `/32` CIDRs for other outside
//! addresses; ports as seen. Where the proxies saw requests on a port, the rule allows
//! those requests (`rules.http` with each method and path, `rules.dns` with each name
//! queried), not the whole port: an L4 allow would let every request through, past the
//! L7 rules of other policies. A port 53 without queries seen, in a policy with `toFQDNs`,
//! allows DNS through the proxy (`matchPattern: "*"`), or the names would never be learned.
//!
//! Pure: flows in, YAML out. (Flows do not carry container port names, so ports are
//! numbers.)

use std::collections::{BTreeMap, BTreeSet};

use observe_proto::flow::layer4::Protocol;
use observe_proto::flow::{Endpoint, Flow, TrafficDirection, Verdict};

/// A peer of a rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Peer {
    /// Pods: their namespace and matchLabels.
    Pods(String, BTreeMap<String, String>),
    /// A Cilium entity (`host`, `remote-node`, `world`, …).
    Entity(String),
    /// An outside address.
    Cidr(String),
    /// An outside name the DNS proxy saw.
    Fqdn(String),
}

/// A port and protocol (`8080`, `TCP`), or an ICMP type and family (`8`, `IPv4`).
pub type Port = (u32, &'static str);

const ICMP_FAMILIES: [&str; 2] = ["IPv4", "IPv6"];

/// HTTP requests seen on a port: (method, path).
pub type Requests = BTreeSet<(String, String)>;

/// The policy of one selector: its ingress and egress peers with their ports, and the
/// HTTP requests seen on each (none: the port is allowed at L4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Suggestion {
    /// Ingress: peer → port → requests.
    pub ingress: BTreeMap<Peer, BTreeMap<Port, Requests>>,
    /// Egress: peer → port → requests.
    pub egress: BTreeMap<Peer, BTreeMap<Port, Requests>>,
}

/// Suggestions for `namespace`, by endpoint selector (matchLabels).
#[derive(Clone, Debug, Default)]
pub struct Suggestions {
    namespace: String,
    policies: BTreeMap<BTreeMap<String, String>, Suggestion>,
    /// Flows skipped: no labels to select their pod by, or no port.
    pub skipped: u64,
}

impl Suggestions {
    /// None yet, for `namespace`.
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            ..Self::default()
        }
    }

    /// Takes one flow into account (others than forwarded, non-reply ones are ignored).
    pub fn add(&mut self, flow: &Flow) {
        if flow.verdict() != Verdict::Forwarded || flow.is_reply.is_some_and(|r| r.value) {
            return;
        }
        let Some(port) = port(flow) else {
            return;
        };
        let (src, dst) = (flow.source.as_ref(), flow.destination.as_ref());
        let (local, peer, ingress) = match flow.traffic_direction() {
            TrafficDirection::Ingress => (dst, self.peer(flow, src, false), true),
            TrafficDirection::Egress => (src, self.peer(flow, dst, true), false),
            TrafficDirection::Unknown => return,
        };
        let Some(local) = local.filter(|e| e.namespace == self.namespace && !e.pod_name.is_empty())
        else {
            return;
        };
        let (Some(selector), Some(peer)) = (selector(&local.labels), peer) else {
            self.skipped += 1;
            return;
        };
        let policy = self.policies.entry(selector).or_default();
        let side = if ingress {
            &mut policy.ingress
        } else {
            &mut policy.egress
        };
        let requests = side.entry(peer).or_default().entry(port).or_default();
        if let Some(request) = l7_request(flow) {
            requests.insert(request);
        }
    }

    fn peer(&self, flow: &Flow, end: Option<&Endpoint>, egress: bool) -> Option<Peer> {
        let end = end?;
        if !end.pod_name.is_empty() {
            return selector(&end.labels).map(|s| Peer::Pods(end.namespace.clone(), s));
        }
        let reserved = end
            .labels
            .iter()
            .find_map(|l| l.strip_prefix("reserved:"))
            .map(|r| r.split('=').next().unwrap_or(r).to_string());
        let world = reserved.as_deref().is_none_or(|r| r.starts_with("world"));
        if !world {
            return reserved.map(Peer::Entity);
        }
        let ip = flow.ip.as_ref()?;
        if egress {
            if let Some(name) = flow.destination_names.first() {
                return Some(Peer::Fqdn(name.trim_end_matches('.').to_string()));
            }
            return Some(Peer::Cidr(cidr(&ip.destination)));
        }
        Some(Peer::Cidr(cidr(&ip.source)))
    }

    /// The policies as CiliumNetworkPolicy YAML documents.
    pub fn to_cnp_yaml(&self) -> String {
        let mut out = String::new();
        for (selector, s) in &self.policies {
            out.push_str(&format!(
                "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: {}\n  namespace: {}\nspec:\n  endpointSelector:\n    matchLabels: {}\n",
                policy_name(selector),
                self.namespace,
                flow_map(selector)
            ));
            if !s.ingress.is_empty() {
                out.push_str("  ingress:\n");
                for (peer, ports) in &s.ingress {
                    out.push_str(&rule(peer, ports, &self.namespace, false, false));
                }
            }
            if !s.egress.is_empty() {
                let fqdns = s.egress.keys().any(|p| matches!(p, Peer::Fqdn(_)));
                out.push_str("  egress:\n");
                for (peer, ports) in &s.egress {
                    out.push_str(&rule(peer, ports, &self.namespace, true, fqdns));
                }
            }
        }
        out
    }

    /// Whether anything was suggested.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }
}

/// The matchLabels a pod is selected by: its `app` label alone when it has one, else its
/// own labels (not the namespace's or Cilium's).
fn selector(labels: &[String]) -> Option<BTreeMap<String, String>> {
    let own: BTreeMap<String, String> = labels
        .iter()
        .filter_map(|l| l.strip_prefix("k8s:"))
        .filter(|l| !l.starts_with("io.kubernetes.") && !l.starts_with("io.cilium."))
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    if let Some(app) = own.get("app") {
        return Some(BTreeMap::from([("app".to_string(), app.clone())]));
    }
    (!own.is_empty()).then_some(own)
}

/// What a DNS request is recorded as in [`Requests`]: (this, the name).
const DNS: &str = "DNS";

/// The request of an L7 flow (the proxies'): an HTTP request as (method, path), the path
/// as a regular expression matching itself (Cilium's HTTP rules are regular
/// expressions); a DNS query as ([`DNS`], name).
fn l7_request(flow: &Flow) -> Option<(String, String)> {
    use observe_proto::flow::{L7FlowType, layer7::Record};
    let l7 = flow.l7.as_ref()?;
    if l7.r#type() != L7FlowType::Request {
        return None;
    }
    let http = match l7.record.as_ref()? {
        Record::Http(http) => http,
        Record::Dns(dns) => {
            let name = dns.query.trim_end_matches('.');
            return (!name.is_empty()).then(|| (DNS.to_string(), name.to_string()));
        }
        _ => return None,
    };
    let path = observe_filter::path_of(&http.url).unwrap_or("/");
    Some((http.method.clone(), regex_escape(path)))
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn port(flow: &Flow) -> Option<Port> {
    match flow.l4.as_ref()?.protocol.as_ref()? {
        Protocol::Tcp(t) => Some((t.destination_port, "TCP")),
        Protocol::Udp(u) => Some((u.destination_port, "UDP")),
        Protocol::Sctp(s) => Some((s.destination_port, "SCTP")),
        Protocol::IcmPv4(i) => Some((i.r#type, "IPv4")),
        Protocol::IcmPv6(i) => Some((i.r#type, "IPv6")),
        _ => None,
    }
}

fn cidr(ip: &str) -> String {
    if ip.contains(':') {
        format!("{ip}/128")
    } else {
        format!("{ip}/32")
    }
}

fn policy_name(selector: &BTreeMap<String, String>) -> String {
    let values: Vec<&str> = selector.values().map(String::as_str).collect();
    format!("suggested-{}", values.join("-"))
}

/// `{app: web}`, quoted where YAML needs it.
fn flow_map(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{}: {}", quote(k), quote(v)))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c))
    {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

/// The `ingress`/`egress` entries of one peer: its ports, then its ICMP types. Ports with
/// HTTP requests seen get those as `rules.http` (an L4 allow would let every request
/// through); `dns` adds `rules.dns` to DNS ports (egress with FQDNs).
fn rule(
    peer: &Peer,
    ports: &BTreeMap<Port, Requests>,
    namespace: &str,
    egress: bool,
    dns: bool,
) -> String {
    let (icmp, l4): (Vec<&Port>, Vec<&Port>) =
        ports.keys().partition(|(_, p)| ICMP_FAMILIES.contains(p));
    let (http, l4): (Vec<&Port>, Vec<&Port>) = l4.into_iter().partition(|p| !ports[*p].is_empty());
    let mut out = String::new();
    if !l4.is_empty() {
        out.push_str(&peer_line(peer, namespace, egress));
        // DNS rules may only sit on port 53: DNS gets a port rule of its own.
        let (dns_ports, other): (Vec<&Port>, Vec<&Port>) =
            l4.iter().partition(|(p, _)| dns && *p == 53);
        let list = |ports: &[&Port]| -> String {
            let items: Vec<String> = ports
                .iter()
                .map(|(p, proto)| format!("{{port: \"{p}\", protocol: {proto}}}"))
                .collect();
            items.join(", ")
        };
        out.push_str("    toPorts:\n");
        if !other.is_empty() {
            out.push_str(&format!("    - ports: [{}]\n", list(&other)));
        }
        if !dns_ports.is_empty() {
            out.push_str(&format!("    - ports: [{}]\n", list(&dns_ports)));
            out.push_str("      rules: {dns: [{matchPattern: \"*\"}]}\n");
        }
    }
    if !http.is_empty() {
        out.push_str(&peer_line(peer, namespace, egress));
        out.push_str("    toPorts:\n");
        for port in http {
            out.push_str(&format!(
                "    - ports: [{{port: \"{}\", protocol: {}}}]\n      rules: {}\n",
                port.0,
                port.1,
                l7_rules(&ports[port])
            ));
        }
    }
    if !icmp.is_empty() {
        out.push_str(&peer_line(peer, namespace, egress));
        let fields: Vec<String> = icmp
            .iter()
            .map(|(t, family)| format!("{{type: {t}, family: {family}}}"))
            .collect();
        out.push_str(&format!(
            "    icmps: [{{fields: [{}]}}]\n",
            fields.join(", ")
        ));
    }
    out
}

/// `{http: [...]}` or `{dns: [...]}` for the requests seen on a port (the names each DNS
/// query asked, so the proxy answers what was asked and nothing else).
fn l7_rules(requests: &Requests) -> String {
    let dns: Vec<String> = requests
        .iter()
        .filter(|(kind, _)| kind == DNS)
        .map(|(_, name)| format!("{{matchName: {name:?}}}"))
        .collect();
    if !dns.is_empty() {
        return format!("{{dns: [{}]}}", dns.join(", "));
    }
    let http: Vec<String> = requests
        .iter()
        .map(|(m, p)| format!("{{method: {m:?}, path: {p:?}}}"))
        .collect();
    format!("{{http: [{}]}}", http.join(", "))
}

/// `  - fromEndpoints: [...]` (or entities, CIDRs, FQDNs).
fn peer_line(peer: &Peer, namespace: &str, egress: bool) -> String {
    let to_from = if egress { "to" } else { "from" };
    match peer {
        Peer::Pods(ns, labels) => {
            let mut labels = labels.clone();
            if ns != namespace {
                labels.insert("k8s:io.kubernetes.pod.namespace".into(), ns.clone());
            }
            format!(
                "  - {to_from}Endpoints: [{{matchLabels: {}}}]\n",
                flow_map(&labels)
            )
        }
        Peer::Entity(e) => format!("  - {to_from}Entities: [{}]\n", quote(e)),
        Peer::Cidr(c) => format!("  - {to_from}CIDR: [{}]\n", quote(c)),
        Peer::Fqdn(n) => format!("  - toFQDNs: [{{matchName: {}}}]\n", quote(n)),
    }
}

#[cfg(test)]
mod tests {
    use observe_proto::flow::{Ip, Layer4, Tcp, Udp, layer4};

    use super::*;

    fn pod(ns: &str, app: &str) -> Endpoint {
        Endpoint {
            namespace: ns.into(),
            pod_name: format!("{app}-0"),
            labels: vec![
                format!("k8s:app={app}"),
                format!("k8s:io.kubernetes.pod.namespace={ns}"),
            ],
            ..Default::default()
        }
    }

    fn flow(src: Endpoint, dst: Endpoint, dir: TrafficDirection, port: u32) -> Flow {
        Flow {
            verdict: Verdict::Forwarded.into(),
            traffic_direction: dir.into(),
            source: Some(src),
            destination: Some(dst),
            ip: Some(Ip {
                source: "10.0.1.1".into(),
                destination: "203.0.113.10".into(),
                ..Default::default()
            }),
            l4: Some(Layer4 {
                protocol: Some(if port == 53 {
                    layer4::Protocol::Udp(Udp {
                        source_port: 40000,
                        destination_port: 53,
                    })
                } else {
                    layer4::Protocol::Tcp(Tcp {
                        source_port: 40000,
                        destination_port: port,
                        flags: None,
                    })
                }),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn observed_traffic_becomes_rules_by_labels() {
        let mut s = Suggestions::new("shop");
        let world = Endpoint {
            labels: vec!["reserved:world".into()],
            ..Default::default()
        };
        s.add(&flow(
            pod("shop", "frontend"),
            pod("shop", "backend"),
            TrafficDirection::Ingress,
            8080,
        ));
        s.add(&flow(
            pod("shop", "frontend"),
            pod("shop", "backend"),
            TrafficDirection::Ingress,
            8080,
        ));
        s.add(&flow(
            pod("monitoring", "prometheus"),
            pod("shop", "backend"),
            TrafficDirection::Ingress,
            9090,
        ));
        s.add(&flow(
            pod("shop", "backend"),
            pod("kube-system", "coredns"),
            TrafficDirection::Egress,
            53,
        ));
        s.add(&flow(
            pod("shop", "backend"),
            pod("kube-system", "coredns"),
            TrafficDirection::Egress,
            5432,
        ));
        let mut out = flow(pod("shop", "backend"), world, TrafficDirection::Egress, 443);
        out.destination_names = vec!["api.partner.com".into()];
        s.add(&out);
        // Replies and drops say nothing about what to allow.
        let mut reply = flow(
            pod("shop", "db"),
            pod("shop", "backend"),
            TrafficDirection::Ingress,
            1234,
        );
        reply.is_reply = Some(observe_proto::pbjson_types::BoolValue { value: true });
        s.add(&reply);
        let yaml = s.to_cnp_yaml();
        assert!(yaml.contains("name: suggested-backend"), "{yaml}");
        assert!(!yaml.contains("suggested-db"), "{yaml}");
        assert!(yaml.contains("  - fromEndpoints: [{matchLabels: {app: frontend}}]\n    toPorts:\n    - ports: [{port: \"8080\", protocol: TCP}]"), "{yaml}");
        assert!(
            yaml.contains("{app: prometheus, k8s:io.kubernetes.pod.namespace: monitoring}"),
            "{yaml}"
        );
        assert!(
            yaml.contains("toFQDNs: [{matchName: api.partner.com}]"),
            "{yaml}"
        );
        assert!(
            yaml.contains(
                "    - ports: [{port: \"5432\", protocol: TCP}]\n    - ports: [{port: \"53\", protocol: UDP}]\n      rules: {dns: [{matchPattern: \"*\"}]}\n"
            ),
            "DNS through the proxy, on a port rule of its own: {yaml}"
        );
        // HTTP seen on a port: the requests, not the whole port.
        let mut get = flow(
            pod("shop", "frontend"),
            pod("shop", "backend"),
            TrafficDirection::Ingress,
            8081,
        );
        s.add(&get);
        get.l7 = Some(observe_proto::flow::Layer7 {
            r#type: observe_proto::flow::L7FlowType::Request.into(),
            record: Some(observe_proto::flow::layer7::Record::Http(
                observe_proto::flow::Http {
                    method: "GET".into(),
                    url: "http://10.0.1.20:8081/health.json?x=1".into(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        });
        s.add(&get);
        let yaml = s.to_cnp_yaml();
        assert!(
            yaml.contains("    - ports: [{port: \"8081\", protocol: TCP}]\n      rules: {http: [{method: \"GET\", path: \"/health\\\\.json\"}]}\n"),
            "{yaml}"
        );
        assert!(
            !yaml.contains("{port: \"8080\", protocol: TCP}, {port: \"8081\""),
            "{yaml}"
        );
        // It is a manifest the engine takes.
        let parsed = enforcer::manifest::parse(&[enforcer::manifest::Input {
            name: "suggested.yaml".into(),
            text: yaml.clone(),
        }]);
        assert!(parsed.is_ok(), "{yaml}\n{:?}", parsed.err());
    }
}
