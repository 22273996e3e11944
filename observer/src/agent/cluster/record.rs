//! What a node writes to the kvstore besides the objects users apply, and the keys it
//! writes them under: its registration ([`NodeRecord`], section `nodes/`, defined in
//! `observe_kvstore` because the relay reads it too), one
//! [`IpcacheEntry`] per local endpoint address (section `ipcache/`), and a reference per
//! pod identity its endpoints use (`identities/users/<id>/<node>`, keyed by
//! `observe_kvstore::identity::keys::user_key`). Values are JSON.

use enforcer::cluster::PodKey;
use serde::{Deserialize, Serialize};

pub use observe_kvstore::NodeRecord;

/// A node record as the engine takes it: labels and InternalIPs.
pub fn engine_node(record: &NodeRecord) -> enforcer::cluster::Node {
    enforcer::cluster::Node {
        name: record.name.clone(),
        labels: record.labels.clone(),
        ips: record.addresses.clone(),
    }
}

/// One local endpoint address, published by the node the endpoint runs on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpcacheEntry {
    /// The endpoint's identity.
    pub identity: u32,
    /// Its pod, `namespace/name`.
    pub namespace: String,
    /// Its pod's name.
    pub pod: String,
    /// The node it runs on.
    pub node: String,
}

impl IpcacheEntry {
    /// The pod the address belongs to.
    pub fn pod_key(&self) -> PodKey {
        PodKey::new(&self.namespace, &self.pod)
    }
}

/// Parses a JSON value, naming the section and key when it does not parse.
///
/// # Errors
///
/// A message naming where the value was and what is wrong with it.
pub fn decode<T: for<'de> Deserialize<'de>>(
    section: &str,
    key: &str,
    value: &[u8],
) -> Result<T, String> {
    serde_json::from_slice(value).map_err(|e| format!("kvstore {section}{key}: {e}"))
}

/// A value as JSON bytes.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing these plain structs cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_bad_values_name_their_key() {
        let r = NodeRecord {
            name: "n1".into(),
            labels: [("zone".to_string(), "a".to_string())].into(),
            addresses: vec!["10.254.0.2".parse().unwrap()],
            pod_cidr: "10.61.1.0/24".into(),
            grpc_address: None,
            started: 0,
        };
        let back: NodeRecord = decode("nodes/", "n1", &encode(&r)).unwrap();
        assert_eq!(back, r);
        assert_eq!(engine_node(&back).ips, r.addresses);
        let e = decode::<IpcacheEntry>("ipcache/", "10.0.0.1", b"{\"identity\": \"x\"}");
        assert!(e.unwrap_err().contains("kvstore ipcache/10.0.0.1"));
    }
}
