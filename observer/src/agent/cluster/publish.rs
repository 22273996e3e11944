//! What this node owns in the store, kept current after every change: one ipcache entry
//! per address of a local endpoint (its identity, pod and node), and a reference on each
//! pod identity a local endpoint has (so no node collects it). Keys no longer true are
//! withdrawn. The publisher writes them under the node's lease, so they vanish with it.

use std::collections::BTreeMap;

use enforcer::identity::Scope;

use super::SectionKey;
use observe_kvstore::identity::keys::user_key;

use super::record::{IpcacheEntry, encode};
use crate::agent::Agent;

impl Agent {
    /// Publishes this node's keys for the current endpoints; withdraws stale ones.
    pub(crate) fn publish_cluster(&mut self) {
        let wanted = self.owned_keys();
        let Some(link) = self.cluster.as_mut() else {
            return;
        };
        for (key, value) in &wanted {
            if link.published.get(key) != Some(value) {
                link.publisher
                    .set(key.0.section(), key.1.clone(), value.clone());
            }
        }
        for key in link.published.keys() {
            if !wanted.contains_key(key) {
                link.publisher.remove(key.0.section(), &key.1);
            }
        }
        link.published = wanted;
    }

    fn owned_keys(&self) -> BTreeMap<(SectionKey, String), Vec<u8>> {
        let mut keys = BTreeMap::new();
        for (pod, ep) in &self.endpoints {
            let Some(e) = self.engine.endpoint(pod) else {
                continue;
            };
            let entry = IpcacheEntry {
                identity: e.identity,
                namespace: pod.namespace.clone(),
                pod: pod.name.clone(),
                node: self.node.clone(),
            };
            for ip in &ep.record.ips {
                keys.insert((SectionKey::Ipcache, ip.to_string()), encode(&entry));
            }
            if Scope::of(e.identity) == Scope::Cluster {
                let key = user_key(e.identity, &self.node);
                keys.insert((SectionKey::Identities, key), Vec::new());
            }
        }
        keys
    }
}
