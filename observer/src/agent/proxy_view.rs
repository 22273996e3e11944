//! What the L7 proxies judge with, without waiting for the agent: a copy of the engine and
//! the local endpoints' addresses, published after every apply, delete and start
//! (`arc-swap`), numbered so that a proxy knows when what it cached went stale. A query or
//! request is judged against the policy of the last published change even while the
//! agent is busy with the next one, so a long apply never stalls DNS or HTTP. (DNS
//! answers still wait for the agent: teaching the datapath needs it, at most
//! `--tofqdns-proxy-response-max-delay`.)

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwapOption;
use enforcer::cluster::PodKey;
use enforcer::engine::trace::RuleMatch;
use enforcer::engine::{DnsJudgement, Engine, HttpPolicy};

use super::Agent;
use crate::getters::{PolicyInfo, RuleInfo};

/// One published view.
pub struct ProxyView {
    engine: Engine,
    /// Local endpoint address → (pod, endpoint id).
    pods: HashMap<IpAddr, (PodKey, u16)>,
    node: String,
    /// Which publication this is (1, 2, ...).
    pub generation: u64,
}

/// A query's judgement with what its flows need about the asking endpoint.
#[derive(Clone)]
pub struct Judged {
    /// The pod that asked.
    pub pod: PodKey,
    /// Its endpoint id.
    pub endpoint_id: u16,
    /// Its security identity.
    pub identity: u32,
    /// The DNS server's identity as this node sees it.
    pub server_identity: u32,
    /// The engine's answer.
    pub judgement: DnsJudgement,
}

impl ProxyView {
    /// The view of `agent` now.
    fn of(agent: &Agent) -> Self {
        let pods = agent
            .endpoints
            .iter()
            .flat_map(|(key, e)| {
                e.record
                    .ips
                    .iter()
                    .map(move |ip| (*ip, (key.clone(), e.record.id)))
            })
            .collect();
        Self {
            engine: agent.engine.clone(),
            pods,
            node: agent.node.clone(),
            generation: 0,
        }
    }

    /// Judges a query for `name` from the endpoint at `client` to `server`; `None` when
    /// `client` is no local endpoint. Judged over UDP and then TCP: the datapath already
    /// checked the transport, so the first that allows it counts.
    pub fn judge(&self, client: SocketAddr, server: SocketAddr, name: &str) -> Option<Judged> {
        let (pod, endpoint_id) = self.pods.get(&client.ip())?;
        let judge = |protocol| {
            self.engine
                .judge_dns(pod, server.ip(), protocol, server.port(), name)
        };
        let udp = judge(17);
        let judgement = if udp.allowed { udp } else { judge(6) };
        Some(Judged {
            pod: pod.clone(),
            endpoint_id: *endpoint_id,
            identity: self.engine.endpoint(pod).map_or(0, |e| e.identity),
            server_identity: self.engine.resolve_ip(server.ip(), &self.node),
            judgement,
        })
    }

    /// Whether `ip` is a local endpoint's.
    pub fn is_local(&self, ip: IpAddr) -> bool {
        self.pods.contains_key(&ip)
    }

    /// The HTTP rules of the connection `client` → `server`.
    pub fn http_policy(&self, client: SocketAddr, server: SocketAddr) -> HttpPolicy {
        self.engine
            .http_policy(client.ip(), server.ip(), server.port())
    }

    /// The security identity of `ip` as this node sees it.
    pub fn identity_of(&self, ip: IpAddr) -> u32 {
        self.engine.resolve_ip(ip, &self.node)
    }

    /// The local endpoint id of `ip`, 0 when it is none.
    pub fn endpoint_id_of(&self, ip: IpAddr) -> u16 {
        self.pods.get(&ip).map_or(0, |(_, id)| *id)
    }
}

/// A trace's rule as the proxies' flows name it (the revision is the snapshot's to know).
pub fn rule_info(m: &RuleMatch) -> RuleInfo {
    RuleInfo {
        policy: PolicyInfo {
            kind: m.kind.clone(),
            namespace: m.namespace.clone(),
            name: m.name.clone(),
            revision: 0,
        },
        path: m.rule.clone(),
    }
}

/// The view shared between the agent (writer) and the proxy (readers).
#[derive(Clone, Default)]
pub struct SharedProxyView(Arc<ArcSwapOption<ProxyView>>, Arc<AtomicU64>);

impl SharedProxyView {
    /// The last published view (`None` before the agent's start finished).
    pub fn load(&self) -> Option<Arc<ProxyView>> {
        self.0.load_full()
    }

    /// The generation of the last published view (0 before the first).
    pub fn generation(&self) -> u64 {
        self.1.load(Ordering::Acquire)
    }

    fn publish(&self, mut view: ProxyView) {
        view.generation = self.1.load(Ordering::Relaxed) + 1;
        let generation = view.generation;
        self.0.store(Some(Arc::new(view)));
        self.1.store(generation, Ordering::Release);
    }
}

impl Agent {
    /// Publishes the DNS proxy's view of the engine and the endpoints.
    pub(super) fn publish_proxy_view(&self) {
        self.proxy_view.publish(ProxyView::of(self));
    }

    /// The DNS proxy's view, kept current by the agent.
    pub fn proxy_view(&self) -> SharedProxyView {
        self.proxy_view.clone()
    }
}

#[cfg(test)]
mod tests {
    use enforcer::engine::EngineConfig;

    use super::*;

    const CLUSTER: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: dns, namespace: shop, labels: {app: dns}}
status: {podIP: 10.0.0.53}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: dns, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  egress:
  - toEndpoints: [{matchLabels: {app: dns}}]
    toPorts:
    - ports: [{port: "53", protocol: TCP}]
      rules:
        dns: [{matchName: api.partner.com}]
"#;

    fn view() -> ProxyView {
        let mut engine = Engine::new(EngineConfig {
            cluster_name: "default".into(),
            default_node: "n1".into(),
            allow_localhost: true,
            host_firewall: false,
        });
        let parsed = enforcer::manifest::parse_str("test.yaml", CLUSTER).expect("valid");
        engine
            .apply(parsed.objects.into_iter().map(|o| o.object))
            .expect("applies");
        let web = PodKey::new("shop", "web");
        ProxyView {
            engine,
            pods: HashMap::from([("10.0.0.1".parse().unwrap(), (web, 4))]),
            node: "n1".into(),
            generation: 1,
        }
    }

    fn at(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn queries_of_local_endpoints_are_judged_over_either_transport() {
        let v = view();
        let ok = v
            .judge(at("10.0.0.1:40000"), at("10.0.0.53:53"), "api.partner.com.")
            .expect("a local endpoint");
        assert!(ok.judgement.allowed, "TCP/53 is the rule's protocol");
        assert_eq!((ok.pod.name.as_str(), ok.endpoint_id), ("web", 4));
        assert_ne!(ok.identity, 0);
        let no = v
            .judge(at("10.0.0.1:40000"), at("10.0.0.53:53"), "evil.example.")
            .unwrap();
        assert!(!no.judgement.allowed);
        assert!(
            v.judge(at("10.9.9.9:1"), at("10.0.0.53:53"), "x.")
                .is_none()
        );
        assert!(v.is_local("10.0.0.1".parse().unwrap()));
        assert!(
            !v.is_local("10.0.0.53".parse().unwrap()),
            "not on this node's list"
        );
    }
}
