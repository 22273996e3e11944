//! What the decoder asks about while enriching flows (endpoints, identities, rule cookies,
//! selecting policies, interface names), as an immutable snapshot of the agent's state
//! swapped in after every change. The pipeline reads it without waiting on the agent.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use enforcer::cluster::PodKey;
use enforcer::engine::Engine;
use enforcer::mapstate::RuleSet;
use enforcer::policy::origin::PolicyRef;
use observe_proto::flow::TrafficDirection;

use crate::getters::{
    EndpointGetter, EndpointInfo, IdentityGetter, LinkGetter, PolicyGetter, PolicyInfo, RuleInfo,
};

/// One consistent view of the agent's state.
#[derive(Default)]
pub struct Snapshot {
    by_id: HashMap<u32, Arc<EndpointInfo>>,
    by_ip: HashMap<IpAddr, Arc<EndpointInfo>>,
    identities: HashMap<u32, Arc<[String]>>,
    cookies: HashMap<u32, Vec<RuleInfo>>,
    selecting: HashMap<(u32, i32), Vec<PolicyInfo>>,
    links: HashMap<u32, String>,
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
                s.links.insert(*ifindex, (*name).to_string());
                let policies = |d: &enforcer::mapstate::DirectionPolicy| {
                    d.selecting
                        .iter()
                        .map(|p| policy_info(p, revision))
                        .collect()
                };
                s.selecting.insert(
                    (u32::from(*id), TrafficDirection::Ingress as i32),
                    policies(&e.policy.ingress),
                );
                s.selecting.insert(
                    (u32::from(*id), TrafficDirection::Egress as i32),
                    policies(&e.policy.egress),
                );
            }
        }
        for i in engine.identities() {
            s.identities.insert(i.id, i.labels.to_strings().into());
        }
        for (cookie, rules) in cookies {
            let infos = rules
                .iter()
                .map(|r| RuleInfo {
                    policy: policy_info(&r.policy, revision),
                    path: r.path.to_string(),
                })
                .collect();
            s.cookies.insert(*cookie, infos);
        }
        s
    }
}

fn policy_info(p: &PolicyRef, revision: u64) -> PolicyInfo {
    PolicyInfo {
        kind: p.kind.as_str().to_string(),
        namespace: p.namespace.clone(),
        name: p.name.clone(),
        revision,
    }
}

/// The snapshot shared between the agent (writer) and the decoder (reader).
#[derive(Clone, Default)]
pub struct SharedSnapshot(Arc<RwLock<Arc<Snapshot>>>);

impl SharedSnapshot {
    /// Replaces the snapshot.
    pub fn publish(&self, snapshot: Snapshot) {
        if let Ok(mut guard) = self.0.write() {
            *guard = Arc::new(snapshot);
        }
    }

    fn get(&self) -> Arc<Snapshot> {
        self.0.read().map(|g| g.clone()).unwrap_or_default()
    }
}

impl EndpointGetter for SharedSnapshot {
    fn endpoint_by_id(&self, id: u32) -> Option<Arc<EndpointInfo>> {
        self.get().by_id.get(&id).cloned()
    }
    fn endpoint_by_ip(&self, ip: IpAddr) -> Option<Arc<EndpointInfo>> {
        self.get().by_ip.get(&ip).cloned()
    }
}

impl IdentityGetter for SharedSnapshot {
    fn identity_labels(&self, identity: u32) -> Option<Arc<[String]>> {
        self.get().identities.get(&identity).cloned()
    }
}

impl PolicyGetter for SharedSnapshot {
    fn rules_by_cookie(&self, cookie: u32) -> Vec<RuleInfo> {
        self.get().cookies.get(&cookie).cloned().unwrap_or_default()
    }
    fn selecting_policies(&self, endpoint_id: u32, direction: TrafficDirection) -> Vec<PolicyInfo> {
        self.get()
            .selecting
            .get(&(endpoint_id, direction as i32))
            .cloned()
            .unwrap_or_default()
    }
}

impl LinkGetter for SharedSnapshot {
    fn link_name(&self, ifindex: u32) -> Option<String> {
        self.get().links.get(&ifindex).cloned()
    }
}
