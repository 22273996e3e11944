//! What the decoder asks about while enriching flows (endpoints, identities, rule cookies,
//! selecting policies, interface names, staged policies), as an immutable snapshot of the agent's state
//! swapped in after every change (`arc-swap`). The pipeline reads it without waiting on
//! the agent, and loads it once per flow, so one flow never mixes two snapshots.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;

use enforcer::cluster::PodKey;
use enforcer::engine::Engine;
use enforcer::fqdn::{DnsCache, Gone};
use enforcer::mapstate::{EndpointPolicy, RuleSet};
use enforcer::policy::origin::{PolicyRef, RuleRef};
use observe_proto::flow::{FqdnGone, FqdnHistory, TrafficDirection};

use crate::decode::{BootClock, Decoder};
use crate::getters::{
    EndpointGetter, EndpointInfo, GetterSource, Getters, IdentityGetter, LinkGetter, PolicyGetter,
    PolicyInfo, RuleInfo, StagedAnswer, StagedGetter, StagedQuery,
};

/// One consistent view of the agent's state.
#[derive(Default)]
pub struct Snapshot {
    by_id: HashMap<u32, Arc<EndpointInfo>>,
    by_ip: HashMap<IpAddr, Arc<EndpointInfo>>,
    identities: HashMap<u32, Arc<[String]>>,
    cookies: HashMap<u32, Arc<[RuleInfo]>>,
    selecting: HashMap<(u32, i32), Vec<PolicyInfo>>,
    /// The same with the policies in audit mode, where any select the endpoint.
    auditing: HashMap<(u32, i32), Vec<PolicyInfo>>,
    links: HashMap<u32, Arc<str>>,
    /// Address → the learned names it answers for.
    names: HashMap<IpAddr, Vec<String>>,
    /// (endpoint id, address) → what became of an address the endpoint once learned.
    departed: HashMap<(u32, IpAddr), FqdnHistory>,
    /// (endpoint id, address) the endpoint's cache holds now.
    held: HashSet<(u32, IpAddr)>,
    /// Local endpoint id → its policy with the staged policies, while some are staged.
    staged: HashMap<u32, Arc<EndpointPolicy>>,
}

/// A local endpoint as the snapshot needs it: (pod, endpoint id, ifindex, interface).
pub type LocalLink<'a> = (&'a PodKey, u16, u32, &'a str);

impl Snapshot {
    /// Builds the view from the engine, the local endpoints and the cookies in use.
    pub fn build<'a>(
        engine: &Engine,
        local: impl IntoIterator<Item = LocalLink<'a>>,
        cookies: &[(u32, RuleSet)],
    ) -> Self {
        let mut s = Snapshot::default();
        let revision = engine.revision();
        let local: HashMap<&PodKey, (u16, u32, &str)> = local
            .into_iter()
            .map(|(k, id, ix, name)| (k, (id, ix, name)))
            .collect();
        for e in engine.endpoints() {
            let id = local.get(&e.pod.key).map_or(0, |(id, _, _)| u32::from(*id));
            let labels = engine
                .identity(e.identity)
                .map(|i| i.labels.to_strings())
                .unwrap_or_default();
            let info = Arc::new(EndpointInfo {
                id,
                identity: e.identity,
                namespace: e.pod.key.namespace.clone(),
                pod_name: e.pod.key.name.clone(),
                labels,
                node_name: e.node.clone(),
            });
            for ip in &e.pod.ips {
                s.by_ip.insert(*ip, info.clone());
            }
            if let Some((id, ifindex, name)) = local.get(&e.pod.key) {
                s.by_id.insert(u32::from(*id), info);
                s.links.insert(*ifindex, Arc::from(*name));
                s.add_policies(u32::from(*id), &e.policy, revision);
            }
        }
        for i in engine.identities() {
            s.identities.insert(i.id, i.labels.to_strings().into());
        }
        for (cookie, rules) in cookies {
            let infos = rules.iter().map(|r| rule_info(r, revision)).collect();
            s.cookies.insert(*cookie, infos);
        }
        for (name, ips) in engine.fqdn_names() {
            for ip in ips {
                s.names.entry(*ip).or_default().push(name.clone());
            }
        }
        s
    }

    /// The policies selecting endpoint `id`, per direction (and those with the audited
    /// ones, where policies in audit mode select it).
    fn add_policies(
        &mut self,
        id: u32,
        policy: &enforcer::mapstate::EndpointPolicy,
        revision: u64,
    ) {
        let policies = |d: &enforcer::mapstate::DirectionPolicy| {
            d.selecting
                .iter()
                .map(|p| policy_info(p, revision))
                .collect()
        };
        for (direction, d) in [
            (TrafficDirection::Ingress, &policy.ingress),
            (TrafficDirection::Egress, &policy.egress),
        ] {
            let key = (id, direction as i32);
            self.selecting.insert(key, policies(d));
            if let Some(audit) = &d.audit {
                self.auditing.insert(key, policies(audit));
            }
        }
    }

    /// Adds this node's host endpoint (host firewall) with endpoint id `id`, running on
    /// `devices` (ifindex, name): what its flows are decoded with.
    pub fn with_host<'a>(
        mut self,
        host: &enforcer::engine::HostEndpoint,
        id: u16,
        devices: impl IntoIterator<Item = (u32, &'a str)>,
        revision: u64,
    ) -> Self {
        let info = Arc::new(EndpointInfo {
            id: u32::from(id),
            identity: enforcer::identity::HOST,
            namespace: String::new(),
            pod_name: String::new(),
            labels: host.labels.to_strings(),
            node_name: host.node.clone(),
        });
        self.by_id.insert(u32::from(id), info);
        for (ifindex, name) in devices {
            self.links.insert(ifindex, Arc::from(name));
        }
        self.add_policies(u32::from(id), &host.policy, revision);
        self
    }

    /// Adds the local endpoints' policies with the staged policies (`staged`, the engine
    /// they are applied on): what flows' staged verdicts come from.
    pub fn with_staged<'a>(
        mut self,
        staged: &Engine,
        local: impl IntoIterator<Item = (&'a PodKey, u16)>,
    ) -> Self {
        for (key, id) in local {
            if let Some(e) = staged.endpoint(key) {
                self.staged.insert(u32::from(id), e.policy.clone());
            }
        }
        self
    }

    /// Adds what each local endpoint's DNS cache held and lost.
    pub fn with_fqdn<'a>(mut self, caches: impl IntoIterator<Item = (u16, &'a DnsCache)>) -> Self {
        for (id, cache) in caches {
            let id = u32::from(id);
            for (name, ip, held) in cache.entries() {
                if !held.zombie {
                    self.held.insert((id, ip));
                    continue;
                }
                // Kept only for open connections: a new one is dropped, and says why.
                let history = FqdnHistory {
                    name: name.to_string(),
                    last_seen: Some(held.last_seen.into()),
                    gone: Some(held.expires.into()),
                    why: FqdnGone::FqdnExpired as i32,
                };
                self.departed.insert((id, ip), history);
            }
            for (ip, past) in cache.departures() {
                let history = FqdnHistory {
                    name: past.name.clone(),
                    last_seen: Some(past.last_seen.into()),
                    gone: Some(past.gone_at.into()),
                    why: match past.why {
                        Gone::Expired => FqdnGone::FqdnExpired,
                        Gone::Evicted => FqdnGone::FqdnEvicted,
                    } as i32,
                };
                self.departed.insert((id, ip), history);
            }
        }
        self
    }
}

/// A policy as the getters name it, at policy `revision` (0 when unknown).
pub(super) fn policy_info(p: &PolicyRef, revision: u64) -> PolicyInfo {
    PolicyInfo {
        kind: p.kind.as_str().to_string(),
        namespace: p.namespace.clone(),
        name: p.name.clone(),
        revision,
    }
}

/// A rule as the getters name it, at policy `revision`.
pub(super) fn rule_info(r: &RuleRef, revision: u64) -> RuleInfo {
    RuleInfo {
        policy: policy_info(&r.policy, revision),
        path: r.path.to_string(),
    }
}

/// The snapshot shared between the agent (writer) and the decoder (reader).
#[derive(Clone, Default)]
pub struct SharedSnapshot(Arc<ArcSwap<Snapshot>>);

impl SharedSnapshot {
    /// The decoder the agent runs: every flow enriched from one snapshot.
    pub fn decoder(&self, clock: BootClock) -> Decoder {
        Decoder::new(clock).with_getter_source(Arc::new(self.clone()))
    }

    /// Replaces the snapshot; flows being decoded finish with the one they loaded.
    pub fn publish(&self, snapshot: Snapshot) {
        self.0.store(Arc::new(snapshot));
    }
}

impl GetterSource for SharedSnapshot {
    fn load(&self) -> Getters {
        let snapshot = self.0.load_full();
        Getters {
            endpoints: snapshot.clone(),
            identities: snapshot.clone(),
            policies: snapshot.clone(),
            links: snapshot.clone(),
            fqdn: snapshot.clone(),
            staged: snapshot,
        }
    }
}

impl StagedGetter for Snapshot {
    fn staged(&self, query: &StagedQuery) -> Option<StagedAnswer> {
        let policy = self.staged.get(&query.endpoint_id)?;
        let direction = match query.direction {
            TrafficDirection::Egress => &policy.egress,
            _ => &policy.ingress,
        };
        Some(super::staged::answer(direction, query))
    }
}

impl EndpointGetter for Snapshot {
    fn endpoint_by_id(&self, id: u32) -> Option<Arc<EndpointInfo>> {
        self.by_id.get(&id).cloned()
    }
    fn endpoint_by_ip(&self, ip: IpAddr) -> Option<Arc<EndpointInfo>> {
        self.by_ip.get(&ip).cloned()
    }
}

impl IdentityGetter for Snapshot {
    fn identity_labels(&self, identity: u32) -> Option<Arc<[String]>> {
        self.identities.get(&identity).cloned()
    }
}

impl PolicyGetter for Snapshot {
    fn rules_by_cookie(&self, cookie: u32) -> Arc<[RuleInfo]> {
        self.cookies
            .get(&cookie)
            .cloned()
            .unwrap_or_else(|| Arc::from([]))
    }
    fn selecting_policies(&self, endpoint_id: u32, direction: TrafficDirection) -> Vec<PolicyInfo> {
        self.selecting
            .get(&(endpoint_id, direction as i32))
            .cloned()
            .unwrap_or_default()
    }
    fn auditing_policies(&self, endpoint_id: u32, direction: TrafficDirection) -> Vec<PolicyInfo> {
        self.auditing
            .get(&(endpoint_id, direction as i32))
            .cloned()
            .unwrap_or_default()
    }
}

impl crate::getters::FqdnGetter for Snapshot {
    fn names_of(&self, ip: IpAddr) -> Vec<String> {
        self.names.get(&ip).cloned().unwrap_or_default()
    }

    fn history(&self, endpoint_id: u32, ip: IpAddr) -> Option<FqdnHistory> {
        if self.held.contains(&(endpoint_id, ip)) {
            return None;
        }
        if let Some(history) = self.departed.get(&(endpoint_id, ip)) {
            return Some(history.clone());
        }
        let name = self.names.get(&ip)?.first()?;
        Some(FqdnHistory {
            name: name.clone(),
            why: FqdnGone::FqdnNotResolvedByEndpoint as i32,
            ..FqdnHistory::default()
        })
    }
}

impl LinkGetter for Snapshot {
    fn link_name(&self, ifindex: u32) -> Option<Arc<str>> {
        self.links.get(&ifindex).cloned()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use observe_proto::flow::Flow;
    use probe_common::direction::EGRESS;
    use probe_common::event::{FlowEvent, kind};
    use probe_common::ipcache::FAMILY_V4;

    use super::*;

    /// Version `v` of the agent's state: every name in it ends in `-v{v}`.
    fn version(v: u64) -> Snapshot {
        let name = |what: &str| format!("{what}-v{v}");
        let info = |id: u32, pod: &str| {
            Arc::new(EndpointInfo {
                id,
                identity: 1000 + id,
                namespace: "default".into(),
                pod_name: name(pod),
                labels: vec![format!("k8s:app={}", name(pod))],
                node_name: "node-1".into(),
            })
        };
        let rule = RuleInfo {
            policy: PolicyInfo {
                kind: "CiliumNetworkPolicy".into(),
                namespace: "default".into(),
                name: name("allow"),
                revision: v,
            },
            path: "spec.egress[0]".into(),
        };
        Snapshot {
            by_id: HashMap::from([(1, info(1, "web"))]),
            by_ip: HashMap::from([(IpAddr::from([10, 0, 0, 2]), info(2, "db"))]),
            cookies: HashMap::from([(9, Arc::from([rule]))]),
            links: HashMap::from([(7, Arc::from(name("lxc")))]),
            ..Snapshot::default()
        }
    }

    /// An allowed egress connection from endpoint 1 (10.0.0.1, on interface 7) to
    /// 10.0.0.2, admitted by the rule behind cookie 9: four lookups per flow.
    fn event() -> FlowEvent {
        let v4 = |a: [u8; 4]| {
            let mut out = [0; 16];
            out[..4].copy_from_slice(&a);
            out
        };
        FlowEvent {
            kind: kind::POLICY_VERDICT,
            direction: EGRESS,
            family: FAMILY_V4,
            protocol: 6,
            endpoint_id: 1,
            ifindex: 7,
            cookie: 9,
            dport: 5432,
            saddr: v4([10, 0, 0, 1]),
            daddr: v4([10, 0, 0, 2]),
            ..FlowEvent::default()
        }
    }

    /// The snapshot versions the names in `flow` come from.
    fn versions(flow: &Flow) -> BTreeSet<String> {
        let names = [
            flow.source.as_ref().map(|e| e.pod_name.clone()),
            flow.destination.as_ref().map(|e| e.pod_name.clone()),
            flow.interface.as_ref().map(|i| i.name.clone()),
            flow.egress_allowed_by.first().map(|p| p.name.clone()),
        ];
        names
            .into_iter()
            .map(|name| {
                let name = name.unwrap_or_default();
                name.rsplit_once("-v")
                    .map_or(name.clone(), |(_, v)| v.to_string())
            })
            .collect()
    }

    #[test]
    fn one_flow_is_enriched_from_one_snapshot_while_the_agent_publishes_new_ones() {
        let shared = SharedSnapshot::default();
        shared.publish(version(0));
        let mut decoder = shared.decoder(BootClock::unix_epoch());
        let first = decoder.decode_flow_event(&event(), "node-1").unwrap();
        assert_eq!(versions(&first), BTreeSet::from(["0".to_string()]));

        let done = AtomicBool::new(false);
        let published = AtomicU64::new(0);
        let (mut flows, mut mixed) = (0u64, None);
        std::thread::scope(|s| {
            s.spawn(|| {
                for v in 1.. {
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    shared.publish(version(v));
                    published.fetch_add(1, Ordering::Relaxed);
                }
            });
            // Until both sides did plenty (bounded, should the publisher never run).
            while (flows < 2_000 || published.load(Ordering::Relaxed) < 2_000) && flows < 2_000_000
            {
                let flow = decoder.decode_flow_event(&event(), "node-1").unwrap();
                flows += 1;
                let seen = versions(&flow);
                if seen.len() != 1 {
                    mixed = Some(seen);
                    break;
                }
            }
            done.store(true, Ordering::Relaxed);
        });
        assert_eq!(
            mixed,
            None,
            "flow {flows} mixes snapshots ({} published)",
            published.into_inner()
        );
    }
}
