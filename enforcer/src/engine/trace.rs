//! `policy trace`: would a flow be allowed, and by which rule?
//!
//! The verdict of each side comes from the endpoint's map state through
//! [`DirectionPolicy::decide`](crate::mapstate::DirectionPolicy::decide), exactly as the
//! datapath decides. The explanation —
//! selecting policies, the rules that match, near misses — is computed from the rules
//! with the same entry code the map state was built from.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::Engine;
use super::compute::{folded_requires, for_each_section, relevant};
use super::entries::{Resolver, Used};
use super::render::l4_text;
use super::selector_cache::SelectorCache;
use super::subjects::RuleHandle;
use crate::cluster::{PodKey, WorkloadKind, WorkloadRef};
use crate::mapstate::resolve::RawEntry;
use crate::mapstate::{Action, DirectionPolicy, Lookup, PortRange, Verdict};
use crate::policy::Direction;
use crate::policy::http::HttpRule;
use crate::policy::model::{L4, L7, Peer, Peers, PortSpec};
use crate::policy::origin::RuleRef;
use crate::policy::ports::protocol_name;

/// One side of a traced flow, as the user names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A pod (`namespace/name`).
    Pod(PodKey),
    /// A node (`node/NAME`).
    Node(String),
    /// An address (a pod's, a node's, or outside the cluster).
    Ip(IpAddr),
    /// A workload (`[NAMESPACE/]KIND/NAME`): its first pod.
    Workload(WorkloadRef),
}

impl Target {
    /// Parses `NAMESPACE/POD`, `node/NAME`, a bare `POD` (namespace `default`), a workload
    /// or pod reference `[NAMESPACE/]KIND/NAME` (`deployment/web`, `shop/sts/db`,
    /// `pod/web`; kinds as `kubectl` spells them) or an IP address. `KIND/NAME` means the
    /// workload, not a pod in a namespace called `KIND`: write that one
    /// `KIND/pod/NAME`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Ok(ip) = s.parse() {
            return Ok(Self::Ip(ip));
        }
        let parts: Vec<&str> = s.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) || parts.len() > 3 {
            return Err(bad_target(s));
        }
        match parts[..] {
            ["node", name] => Ok(Self::Node(name.to_string())),
            [one] if one.starts_with("node:") && one.len() > 5 => {
                Ok(Self::Node(one["node:".len()..].to_string()))
            }
            [name] => Ok(Self::Pod(PodKey::new("default", name))),
            [kind, name] => Ok(Self::reference("default", kind, name)
                .unwrap_or_else(|| Self::Pod(PodKey::new(kind, name)))),
            [ns, kind, name] => Self::reference(ns, kind, name).ok_or_else(|| bad_target(s)),
            _ => Err(bad_target(s)),
        }
    }

    fn reference(namespace: &str, kind: &str, name: &str) -> Option<Self> {
        if matches!(kind.to_ascii_lowercase().as_str(), "pod" | "pods" | "po") {
            return Some(Self::Pod(PodKey::new(namespace, name)));
        }
        let kind = WorkloadKind::from_reference(kind)?;
        Some(Self::Workload(WorkloadRef {
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
        }))
    }
}

fn bad_target(s: &str) -> String {
    format!(
        "{s:?} is not NAMESPACE/POD, [NAMESPACE/]KIND/NAME (deployment, statefulset, daemonset, replicaset, job, cronjob, pod), node/NAME or an IP address"
    )
}

/// A flow to trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceRequest {
    /// Source.
    pub from: Target,
    /// Destination.
    pub to: Target,
    /// IP protocol number.
    pub protocol: u8,
    /// Destination port, or ICMP type for ICMP/ICMPv6.
    pub dport: u16,
    /// Also explain the reply direction.
    pub reply: bool,
}

/// Why a trace could not be run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    /// No such pod.
    #[error("pod {0} not found in the manifests")]
    UnknownPod(PodKey),
    /// No such workload, or one without pods.
    #[error("{0} not found in the manifests, or it has no pods")]
    UnknownWorkload(WorkloadRef),
    /// No such node.
    #[error("node {0:?} not found: no Node object and no pod runs on it")]
    UnknownNode(String),
}

/// A resolved party of the flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// How to call it: `shop/web`, `node/n1`, `203.0.113.10`.
    pub name: String,
    /// `pod`, `node` or `world`.
    pub kind: String,
    /// Its identity (for a node: as the other side's node sees it).
    pub identity: u32,
    /// Identity labels.
    pub labels: Vec<String>,
    /// The node it runs on (pods and nodes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The workload a pod stands for (`deployment/web`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip)]
    pod: Option<PodKey>,
    #[serde(skip)]
    ip: Option<IpAddr>,
}

/// A rule that matched, for the explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMatch {
    /// Policy kind.
    pub kind: String,
    /// Policy namespace (empty when cluster-wide).
    pub namespace: String,
    /// Policy name.
    pub name: String,
    /// Rule path in the policy (`spec.ingress[0]`).
    pub rule: String,
    /// The L7 rules attached, as text (`HTTP (GET /health)`, `DNS (*.example.com)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l7: Option<String>,
    /// The rule's `rules.dns` selectors, when it has some.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    /// The rule's `rules.http`, when it has some.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<HttpRule>,
}

/// One direction's part of the trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideTrace {
    /// The endpoint whose policy applies, when the side is an endpoint.
    pub endpoint: Option<String>,
    /// Whether policy is enforced on this side.
    pub enforced: bool,
    /// Whether a selecting rule turned on default deny.
    pub default_deny: bool,
    /// `ALLOWED` or `DENIED`.
    pub verdict: String,
    /// 133 (no rule allowed it) or 181 (a deny rule matched) when denied.
    pub drop_reason: Option<u8>,
    /// Hubble policy match type of the deciding entry (`L3-L4`, ...; `none` without one).
    pub match_type: String,
    /// The peer as this side's node sees it.
    pub peer_identity: u32,
    /// Policies with rules selecting the endpoint in this direction.
    pub selecting_policies: Vec<String>,
    /// Allow rules matching the flow.
    pub matched_rules: Vec<RuleMatch>,
    /// Deny rules matching the flow.
    pub denying_rules: Vec<RuleMatch>,
    /// Rules that matched the peer but not the port, or the port but not the peer.
    pub hints: Vec<String>,
    /// Why this side has no policy, or other remarks.
    pub notes: Vec<String>,
    /// Audit mode: what the policies in audit mode would do to a flow this side allows
    /// (they would drop it; it passes, reported AUDIT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditTrace>,
}

/// What policies in audit mode would do to a flow: drop it, for this reason, by these rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditTrace {
    /// 133 (nothing in the policy with the audited ones allows it) or 181 (a deny rule).
    pub drop_reason: u8,
    /// The deny rules (181), or the policies selecting the endpoint, those in audit mode
    /// included (133).
    pub by: Vec<String>,
}

/// A complete trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// Source.
    pub source: Party,
    /// Destination.
    pub destination: Party,
    /// Protocol name.
    pub protocol: String,
    /// Destination port or ICMP type.
    pub dport: u16,
    /// The source's egress policy.
    pub egress: SideTrace,
    /// The destination's ingress policy.
    pub ingress: SideTrace,
    /// `ALLOWED` or `DENIED`.
    pub verdict: String,
    /// Drop reason when denied.
    pub drop_reason: Option<u8>,
    /// The reply direction, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// The HTTP proxy's verdict on the request asked about (`--http-*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l7_verdict: Option<String>,
}

impl Engine {
    /// Traces a flow.
    pub fn trace(&self, req: &TraceRequest) -> Result<Trace, TraceError> {
        let source = self.party(&req.from)?;
        let destination = self.party(&req.to)?;
        let loopback = source.pod.is_some() && source.pod == destination.pod;
        let egress = self.side(&source, &destination, req, Direction::Egress, loopback);
        let ingress = self.side(&destination, &source, req, Direction::Ingress, loopback);
        let denied = [&egress, &ingress]
            .into_iter()
            .find(|s| s.drop_reason.is_some());
        let audited = egress.audit.is_some() || ingress.audit.is_some();
        let verdict = match (denied, audited) {
            (Some(_), _) => "DENIED",
            (None, true) => "AUDIT",
            (None, false) => "ALLOWED",
        };
        let reply = req
            .reply
            .then(|| reply_text(denied.is_none(), &source, &destination));
        Ok(Trace {
            protocol: protocol_name(req.protocol),
            dport: req.dport,
            drop_reason: denied.and_then(|s| s.drop_reason),
            source,
            destination,
            egress,
            ingress,
            verdict: verdict.into(),
            reply,
            l7_verdict: None,
        })
    }

    fn party(&self, target: &Target) -> Result<Party, TraceError> {
        match target {
            Target::Pod(key) => self
                .pod_party(key)
                .ok_or_else(|| TraceError::UnknownPod(key.clone())),
            Target::Node(name) => {
                if !self.node_names().contains(name) {
                    return Err(TraceError::UnknownNode(name.clone()));
                }
                Ok(self.node_party(name))
            }
            Target::Ip(ip) => Ok(self.ip_party(*ip)),
            Target::Workload(w) => self
                .workload_pods(w)
                .next()
                .and_then(|key| self.pod_party(key))
                .ok_or_else(|| TraceError::UnknownWorkload(w.clone())),
        }
    }

    fn pod_party(&self, key: &PodKey) -> Option<Party> {
        let e = self.endpoint(key)?;
        Some(Party {
            name: key.to_string(),
            kind: "pod".into(),
            identity: e.identity,
            labels: self
                .identity(e.identity)
                .map(|i| i.labels.to_strings())
                .unwrap_or_default(),
            node: Some(e.node.clone()),
            owner: e.pod.owner.as_ref().map(WorkloadRef::short),
            pod: Some(key.clone()),
            ip: None,
        })
    }

    /// A node: with the host firewall its host endpoint (the host identity, its own
    /// labels), else the remote-node identity other nodes see it with.
    fn node_party(&self, name: &str) -> Party {
        let (identity, labels) = match self.host(name) {
            Some(host) => (crate::identity::HOST, host.labels.to_strings()),
            None => {
                let identity = self.node_identity(name, "");
                let labels = self.identity(identity).map(|i| i.labels.to_strings());
                (identity, labels.unwrap_or_default())
            }
        };
        Party {
            name: format!("node/{name}"),
            kind: "node".into(),
            identity,
            labels,
            node: Some(name.to_string()),
            owner: None,
            pod: None,
            ip: None,
        }
    }

    fn ip_party(&self, ip: IpAddr) -> Party {
        if let Some(e) = self.endpoints().find(|e| e.pod.ips.contains(&ip))
            && let Some(p) = self.pod_party(&e.pod.key)
        {
            return Party {
                name: format!("{} ({ip})", p.name),
                ip: Some(ip),
                ..p
            };
        }
        if let Some(n) = self.nodes().find(|n| n.node.ips.contains(&ip)) {
            return Party {
                name: format!("node/{} ({ip})", n.node.name),
                ip: Some(ip),
                ..self.node_party(&n.node.name)
            };
        }
        let identity = self.resolve_ip(ip, "");
        let (name, kind) = if super::ipcache::ENDPOINT_GATEWAYS.contains(&ip) {
            (format!("local node gateway ({ip})"), "node")
        } else {
            (ip.to_string(), "world")
        };
        Party {
            name,
            kind: kind.into(),
            identity,
            labels: self
                .identity(identity)
                .map(|i| i.labels.to_strings())
                .unwrap_or_default(),
            node: None,
            owner: None,
            pod: None,
            ip: Some(ip),
        }
    }

    /// The identity of `peer` as node `view` sees it.
    fn peer_identity(&self, peer: &Party, view: &str) -> u32 {
        match (&peer.pod, peer.kind.as_str(), &peer.node, peer.ip) {
            (Some(_), _, _, _) => peer.identity,
            (None, "node", Some(name), _) => self.node_identity(name, view),
            (_, _, _, Some(ip)) => self.resolve_ip(ip, view),
            _ => peer.identity,
        }
    }

    fn side(
        &self,
        me: &Party,
        peer: &Party,
        req: &TraceRequest,
        dir: Direction,
        loopback: bool,
    ) -> SideTrace {
        let view = me.node.clone().unwrap_or_default();
        let peer_identity = self.peer_identity(peer, &view);
        let mut side = SideTrace {
            endpoint: me.pod.as_ref().map(ToString::to_string),
            enforced: false,
            default_deny: false,
            verdict: "ALLOWED".into(),
            drop_reason: None,
            match_type: "none".into(),
            peer_identity,
            selecting_policies: Vec::new(),
            matched_rules: Vec::new(),
            denying_rules: Vec::new(),
            hints: Vec::new(),
            notes: Vec::new(),
            audit: None,
        };
        let Some(subject) = self.trace_subject(me, loopback, &mut side) else {
            return side;
        };
        let policy = subject.policy.direction(dir);
        let (decision, audit) = policy.decide_audited(peer_identity, req.protocol, req.dport);
        side.enforced = policy.enforced;
        side.selecting_policies = policy.selecting.iter().map(|p| p.to_string()).collect();
        side.match_type = match_type_name(decision.match_type).into();
        side.drop_reason = decision.verdict.drop_reason();
        if !decision.verdict.is_allowed() {
            side.verdict = "DENIED".into();
        }
        if let Some(audit) = audit {
            side.verdict = "AUDIT".into();
            side.audit = Some(audit_trace(policy, &audit));
        }
        if !policy.enforced {
            let name = &subject.name;
            side.notes.push(match policy.audit {
                Some(_) => {
                    format!("only policies in audit mode select {name} for {dir}: not enforced")
                }
                None => format!("no policy selects {name} for {dir}: not enforced"),
            });
            return side;
        }
        self.explain(
            &mut side,
            &subject,
            peer_identity,
            req,
            dir,
            decision.verdict,
        );
        side
    }

    /// The policy endpoint `me` is: a pod, or with the host firewall a node's host
    /// endpoint. `None` (with a note on `side`) where no policy applies.
    fn trace_subject(
        &self,
        me: &Party,
        loopback: bool,
        side: &mut SideTrace,
    ) -> Option<TraceSubject<'_>> {
        if let Some(key) = &me.pod {
            if loopback {
                side.notes
                    .push("loopback: the traffic never leaves the pod, no policy applies".into());
                return None;
            }
            let ep = self.endpoint(key)?;
            return Some(TraceSubject {
                name: key.to_string(),
                policy: &ep.policy,
                rules: self.subjects.rules(ep.identity).to_vec(),
                ports: &ep.pod.ports,
                host: false,
            });
        }
        let host = match (me.kind.as_str(), &me.node) {
            ("node", Some(name)) => self.host(name),
            _ => None,
        };
        let Some(host) = host else {
            side.notes.push(match me.kind.as_str() {
                "node" => "a node is not a policy endpoint here (host firewall disabled): no policy applies".into(),
                _ => "outside the cluster: no policy applies on this side".into(),
            });
            return None;
        };
        side.endpoint = Some(format!("node/{}", host.node));
        Some(TraceSubject {
            name: format!("node/{}", host.node),
            policy: &host.policy,
            rules: self.host_rules(&host.labels),
            ports: &[],
            host: true,
        })
    }

    /// Fills the rule-level explanation of an enforced side (by the enforced policies:
    /// [`SideTrace::audit`] tells what those in audit mode would do).
    fn explain(
        &self,
        side: &mut SideTrace,
        subject: &TraceSubject<'_>,
        peer: u32,
        req: &TraceRequest,
        dir: Direction,
        verdict: Verdict,
    ) {
        let mut relevant = relevant(&subject.rules, dir);
        relevant.retain(|h| !h.policy.audit);
        side.default_deny = relevant.iter().any(|h| h.rule().default_deny(dir));
        let mut cache = SelectorCache::default();
        let mut resolver = Resolver {
            identities: &self.identities,
            selectors: &mut cache,
            named_ports: &self.named_ports,
            cluster: &self.config.cluster_name,
            partial: None,
        };
        let mut used = Used::default();
        // Near misses explain a default deny; an allowed or explicitly denied flow needs none.
        let near_misses = verdict == Verdict::DefaultDenied;
        for_each_section(
            &mut resolver,
            &relevant,
            subject.ports,
            dir,
            &mut used,
            |s, action, entries| {
                let deny = action == Action::Deny;
                match classify(&entries, peer, req.protocol, req.dport) {
                    Fit::Full if deny => side.denying_rules.push(rule_match(&s.rule, &L4::Any)),
                    Fit::Full => side.matched_rules.push(rule_match(&s.rule, &s.l4)),
                    Fit::PeerOnly(ports) if !deny && near_misses => side.hints.push(format!(
                        "{} allows this peer on {}, not {}",
                        s.rule,
                        ports.join(", "),
                        l4_text(req.protocol, PortRange::single(req.dport))
                    )),
                    Fit::PortOnly if !deny && near_misses => side.hints.push(format!(
                        "{} allows this port, but not from/to this peer",
                        s.rule
                    )),
                    _ => {}
                }
            },
        );
        side.notes.extend(requires_notes(&relevant, dir));
        side.notes.extend(unmatched_services(&relevant, dir));
        if !side.default_deny {
            side.notes.push(
                "no selecting rule enables default deny: everything not denied is allowed".into(),
            );
        }
        if dir == Direction::Ingress
            && peer == crate::identity::HOST
            && self.config.allow_localhost
            && !subject.host
        {
            side.notes
                .push("the local host may always reach its endpoints (allow-localhost)".into());
        }
        if verdict == Verdict::DefaultDenied && side.matched_rules.is_empty() {
            side.notes.push(
                "no rule allows this flow and default deny is on (drop reason 133 POLICY_DENIED)"
                    .into(),
            );
        }
        for m in side.matched_rules.iter() {
            let proxy = if !m.http.is_empty() {
                "the HTTP proxy judges each request"
            } else if !m.dns.is_empty() {
                "the DNS proxy judges each query"
            } else {
                continue;
            };
            let l7 = m.l7.as_deref().unwrap_or_default();
            side.notes.push(format!(
                "L7 rule {l7}: {proxy} ({} {}/{} {})",
                m.kind, m.namespace, m.name, m.rule
            ));
        }
    }
}

/// The policy endpoint on one side of a trace: a pod, or a node's host endpoint.
struct TraceSubject<'a> {
    /// How notes name it (`shop/web`, `node/n1`).
    name: String,
    policy: &'a crate::mapstate::EndpointPolicy,
    /// The rules selecting it.
    rules: Vec<RuleHandle>,
    /// Its container ports (ingress named ports resolve against them).
    ports: &'a [crate::cluster::ContainerPort],
    /// A host endpoint: the local-host exception does not apply to the host itself.
    host: bool,
}

/// Says which `fromRequires`/`toRequires` narrow the endpoint peers of this side, and to
/// what: a deny that comes from a requirement is otherwise hard to see.
fn requires_notes(relevant: &[&RuleHandle], dir: Direction) -> Vec<String> {
    let field = match dir {
        Direction::Ingress => "fromRequires",
        Direction::Egress => "toRequires",
    };
    let mut notes = Vec::new();
    for (deny, kind) in [(false, "allow"), (true, "deny")] {
        let from: Vec<String> = relevant
            .iter()
            .flat_map(|h| {
                let (allow, denies) = h.rule().sections(dir);
                if deny { denies } else { allow }
            })
            .filter(|s| !s.requires.is_empty())
            .map(|s| s.rule.to_string())
            .collect();
        if from.is_empty() {
            continue;
        }
        notes.push(format!(
            "{field} of {} narrows every endpoint peer of the {kind} rules to {}",
            from.join(", "),
            folded_requires(relevant, dir, deny)
        ));
    }
    notes
}

/// Says which `toServices` entries match no Service: their sections select nothing
/// until one exists (a section that reaches a Service is named after it instead).
fn unmatched_services(relevant: &[&RuleHandle], dir: Direction) -> Vec<String> {
    let mut notes = Vec::new();
    for h in relevant {
        let (allow, deny) = h.rule().sections(dir);
        for s in allow.iter().chain(deny) {
            let Peers::List(peers) = &s.peers else {
                continue;
            };
            for p in peers {
                if let Peer::Service(entry) = p {
                    notes.push(format!(
                        "{}: toServices {entry} matches no Service, so it selects nothing",
                        s.rule
                    ));
                }
            }
        }
    }
    notes
}

enum Fit {
    Full,
    PeerOnly(Vec<String>),
    PortOnly,
    None,
}

fn classify(entries: &[RawEntry], peer: u32, protocol: u8, port: u16) -> Fit {
    let peer_ok = |e: &&RawEntry| e.identity == 0 || e.identity == peer;
    let port_ok =
        |e: &&RawEntry| e.protocol == 0 || (e.protocol == protocol && e.ports.contains(port));
    if entries.iter().any(|e| peer_ok(&e) && port_ok(&e)) {
        return Fit::Full;
    }
    let peer_ports: Vec<String> = entries
        .iter()
        .filter(peer_ok)
        .map(|e| l4_text(e.protocol, e.ports))
        .collect();
    if !peer_ports.is_empty() {
        return Fit::PeerOnly(peer_ports);
    }
    if entries.iter().any(|e| port_ok(&e)) {
        Fit::PortOnly
    } else {
        Fit::None
    }
}

fn l7_of(l4: &L4) -> Option<String> {
    match l4 {
        L4::Ports(specs) => specs
            .iter()
            .find_map(|s: &PortSpec| s.l7.as_ref().map(ToString::to_string)),
        _ => None,
    }
}

fn dns_of(l4: &L4) -> Vec<String> {
    match l4 {
        L4::Ports(specs) => specs
            .iter()
            .find_map(|s: &PortSpec| match &s.l7 {
                Some(L7::Dns(patterns)) => Some(patterns.clone()),
                _ => None,
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn http_of(l4: &L4) -> Vec<HttpRule> {
    match l4 {
        L4::Ports(specs) => specs
            .iter()
            .find_map(|s: &PortSpec| match &s.l7 {
                Some(L7::Http(rules)) => Some(rules.clone()),
                _ => None,
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn rule_match(rule: &RuleRef, l4: &L4) -> RuleMatch {
    RuleMatch {
        kind: rule.policy.kind.to_string(),
        namespace: rule.policy.namespace.clone(),
        name: rule.policy.name.clone(),
        rule: rule.path.to_string(),
        l7: l7_of(l4),
        dns: dns_of(l4),
        http: http_of(l4),
    }
}

/// Hubble's text for a policy match type (`none` for no match).
/// What the policy with the audited policies says of a flow it would drop: the deny
/// rules, or for a default deny the policies selecting the endpoint (those in audit mode
/// marked).
fn audit_trace(policy: &DirectionPolicy, audit: &Lookup<'_>) -> AuditTrace {
    let drop_reason = audit.verdict.drop_reason().unwrap_or(0);
    let by = match audit.entry {
        Some((_, value)) => value
            .rules
            .iter()
            .map(|r| format!("{} {}", r.policy, r.path))
            .collect(),
        None => {
            let full = policy
                .audit
                .as_deref()
                .map_or(&[][..], |a| &a.selecting[..]);
            full.iter()
                .map(|p| match policy.selecting.contains(p) {
                    true => p.to_string(),
                    false => format!("{p} (audit mode)"),
                })
                .collect()
        }
    };
    AuditTrace { drop_reason, by }
}

fn match_type_name(t: u8) -> &'static str {
    probe_common::policy::match_type::name(t).unwrap_or("none")
}

fn reply_text(allowed: bool, source: &Party, destination: &Party) -> String {
    if allowed {
        format!(
            "ALLOWED: replies from {} to {} belong to an allowed connection; conntrack passes them without a policy lookup",
            destination.name, source.name
        )
    } else {
        "none: the connection is never established, so no reply flows".into()
    }
}
