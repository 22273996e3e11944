//! [`View`]: the cluster as this node enforces it, decoded from the watched sections: the
//! objects users applied, the registered nodes, the addresses other nodes' pods have (from
//! the ipcache) and the identity numbers. [`View::desired`] turns it into the objects the
//! engine takes: remote pods with their addresses, local pods keeping theirs, and one Node
//! per registration. A value that does not decode is skipped and reported, never fatal.

use std::collections::BTreeMap;
use std::net::IpAddr;

use enforcer::cluster::{Pod, PodKey};
use enforcer::engine::ObjectKey;
use enforcer::identity::ClusterIds;
use enforcer::manifest::Object;
use observe_kvstore::identity::keys;

use super::record::{IpcacheEntry, NodeRecord, decode, engine_node};

/// The cluster's state as last seen.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// Objects users applied, by key text (`Pod shop/web`).
    pub objects: BTreeMap<String, Object>,
    /// Registered nodes (their leases are alive).
    pub nodes: BTreeMap<String, NodeRecord>,
    /// Addresses of pods, as their nodes published them.
    pub ipcache: BTreeMap<IpAddr, IpcacheEntry>,
    /// Identity numbers by label set.
    pub ids: ClusterIds,
    /// Values that did not decode, by `section/key`.
    pub rejected: BTreeMap<String, String>,
}

impl View {
    /// Replaces the objects with the decoded `items`.
    pub fn set_objects<'a>(&mut self, items: impl IntoIterator<Item = (&'a String, &'a Vec<u8>)>) {
        // The fence of a large commit is not an object (and is gone when this runs).
        let items = items
            .into_iter()
            .filter(|(k, _)| k.as_str() != observe_kvstore::FENCE_KEY);
        self.objects = self.decode_all("objects/", items);
    }

    /// Replaces the registered nodes.
    pub fn set_nodes<'a>(&mut self, items: impl IntoIterator<Item = (&'a String, &'a Vec<u8>)>) {
        self.nodes = self.decode_all("nodes/", items);
    }

    /// Replaces the ipcache (keys are addresses).
    pub fn set_ipcache<'a>(&mut self, items: impl IntoIterator<Item = (&'a String, &'a Vec<u8>)>) {
        let entries: BTreeMap<String, IpcacheEntry> = self.decode_all("ipcache/", items);
        self.ipcache.clear();
        for (key, entry) in entries {
            match key.parse::<IpAddr>() {
                Ok(ip) => {
                    self.ipcache.insert(ip, entry);
                }
                Err(_) => {
                    self.rejected
                        .insert(format!("ipcache/{key}"), "not an IP address".into());
                }
            }
        }
    }

    /// Replaces the identity numbers from `id/<n>` → labels.
    pub fn set_identities<'a>(
        &mut self,
        items: impl IntoIterator<Item = (&'a String, &'a Vec<u8>)>,
    ) {
        let mut ids = ClusterIds::default();
        for (key, value) in items {
            if !key.starts_with(keys::ID_PREFIX) {
                continue;
            }
            match (keys::parse_id_key(key), std::str::from_utf8(value)) {
                (Some(id), Ok(labels)) => ids.insert(labels.to_string(), id),
                _ => {
                    self.rejected
                        .insert(format!("identities/{key}"), "not an identity".into());
                }
            }
        }
        self.ids = ids;
    }

    fn decode_all<'a, T: for<'de> serde::Deserialize<'de>>(
        &mut self,
        section: &str,
        items: impl IntoIterator<Item = (&'a String, &'a Vec<u8>)>,
    ) -> BTreeMap<String, T> {
        self.rejected.retain(|k, _| !k.starts_with(section));
        let mut out = BTreeMap::new();
        for (key, value) in items {
            match decode(section, key, value) {
                Ok(v) => {
                    out.insert(key.clone(), v);
                }
                Err(e) => {
                    self.rejected.insert(format!("{section}{key}"), e);
                }
            }
        }
        out
    }

    /// Addresses other nodes published for their pods (this node's own entries excluded).
    fn remote_addresses(&self, node: &str) -> BTreeMap<PodKey, Vec<IpAddr>> {
        let mut out: BTreeMap<PodKey, Vec<IpAddr>> = BTreeMap::new();
        for (ip, e) in &self.ipcache {
            if e.node != node {
                out.entry(e.pod_key()).or_default().push(*ip);
            }
        }
        out
    }

    /// The objects the engine should hold on `node`: users' objects, remote pods with the
    /// addresses their nodes published, local pods keeping the addresses they have in
    /// `current`, and a Node per registration (replacing a Node manifest of that name).
    pub fn desired(
        &self,
        node: &str,
        current: &BTreeMap<String, Object>,
    ) -> BTreeMap<String, Object> {
        let remote = self.remote_addresses(node);
        let mut out = BTreeMap::new();
        for (key, object) in &self.objects {
            let mut object = object.clone();
            fill_addresses(&mut object, node, &remote, current.get(key));
            out.insert(key.clone(), object);
        }
        for record in self.nodes.values() {
            let object = Object::Node(engine_node(record));
            out.insert(ObjectKey::of(&object).to_string(), object);
        }
        out
    }
}

/// Gives a pod (or a workload's pods) the addresses it has: its own when written, the
/// ipcache's for a remote one, the current ones for a local one.
fn fill_addresses(
    object: &mut Object,
    node: &str,
    remote: &BTreeMap<PodKey, Vec<IpAddr>>,
    current: Option<&Object>,
) {
    match object {
        Object::Pod(p) if p.ips.is_empty() => {
            if is_local(p, node) {
                if let Some(Object::Pod(old)) = current {
                    p.ips.clone_from(&old.ips);
                }
            } else if let Some(ips) = remote.get(&p.key) {
                p.ips.clone_from(ips);
            }
        }
        Object::Workload(w) if w.addresses.is_empty() => {
            if let Some(Object::Workload(old)) = current {
                w.addresses.clone_from(&old.addresses);
            }
            // The ipcache is the word on remote pods (a workload's pods are named after it).
            let prefix = format!("{}-", w.key.name);
            for (key, ips) in remote {
                if key.namespace == w.key.namespace && key.name.starts_with(&prefix) {
                    w.addresses.insert(key.name.clone(), ips.clone());
                }
            }
        }
        _ => {}
    }
}

fn is_local(p: &Pod, node: &str) -> bool {
    p.node.as_deref().is_none_or(|n| n == node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, node: &str, ips: &[&str]) -> Object {
        Object::Pod(Pod {
            key: PodKey::new("shop", name),
            labels: BTreeMap::new(),
            node: Some(node.into()),
            service_account: "default".into(),
            ports: vec![],
            ips: ips.iter().map(|i| i.parse().unwrap()).collect(),
            netns: None,
            owner: None,
        })
    }

    fn ips(o: &Object) -> Vec<String> {
        match o {
            Object::Pod(p) => p.ips.iter().map(ToString::to_string).collect(),
            _ => vec![],
        }
    }

    #[test]
    fn remote_pods_take_the_ipcache_and_local_pods_keep_their_addresses() {
        let mut view = View::default();
        let objects = BTreeMap::from([
            (
                "Pod shop/a".to_string(),
                serde_json::to_vec(&pod("a", "n1", &[])).unwrap(),
            ),
            (
                "Pod shop/b".to_string(),
                serde_json::to_vec(&pod("b", "n2", &[])).unwrap(),
            ),
            ("Pod shop/c".to_string(), b"{not json".to_vec()),
        ]);
        view.set_objects(&objects);
        assert!(view.rejected.contains_key("objects/Pod shop/c"));
        let entry = IpcacheEntry {
            identity: 300,
            namespace: "shop".into(),
            pod: "b".into(),
            node: "n2".into(),
        };
        let ipcache = BTreeMap::from([
            ("10.61.2.5".to_string(), serde_json::to_vec(&entry).unwrap()),
            ("bad".to_string(), serde_json::to_vec(&entry).unwrap()),
        ]);
        view.set_ipcache(&ipcache);
        assert!(view.rejected.contains_key("ipcache/bad"));
        let current = BTreeMap::from([("Pod shop/a".to_string(), pod("a", "n1", &["10.61.1.1"]))]);
        let desired = view.desired("n1", &current);
        assert_eq!(ips(&desired["Pod shop/a"]), ["10.61.1.1"]);
        assert_eq!(ips(&desired["Pod shop/b"]), ["10.61.2.5"]);
        // On n2 its own entry is not "remote": b has no address until n2 assigns one.
        assert!(ips(&view.desired("n2", &BTreeMap::new())["Pod shop/b"]).is_empty());
    }

    #[test]
    fn registrations_become_nodes_and_identities_decode() {
        let mut view = View::default();
        let record = NodeRecord {
            name: "n2".into(),
            labels: BTreeMap::new(),
            addresses: vec!["10.254.0.3".parse().unwrap()],
            pod_cidr: "10.61.2.0/24".into(),
            grpc_address: None,
            started: 0,
        };
        view.set_nodes(&BTreeMap::from([(
            "n2".to_string(),
            serde_json::to_vec(&record).unwrap(),
        )]));
        let desired = view.desired("n1", &BTreeMap::new());
        assert!(matches!(&desired["Node n2"], Object::Node(n) if n.ips == record.addresses));
        view.set_identities(&BTreeMap::from([
            ("id/300".to_string(), b"k8s:app=web".to_vec()),
            ("labels/k8s:app=web".to_string(), b"300".to_vec()),
            ("id/x".to_string(), b"k8s:app=db".to_vec()),
        ]));
        assert_eq!(view.ids.get("k8s:app=web"), Some(300));
        assert!(view.rejected.contains_key("identities/id/x"));
    }
}
