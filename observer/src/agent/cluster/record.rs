//! What a node writes to the kvstore besides the objects users apply, and the keys it
//! writes them under: its registration ([`NodeRecord`], section `nodes/`), one
//! [`IpcacheEntry`] per local endpoint address (section `ipcache/`), and a reference per
//! pod identity its endpoints use (`identities/users/<id>/<node>`, keyed by
//! `observe_kvstore::identity::keys::user_key`). Values are JSON.

use std::collections::BTreeMap;
use std::net::IpAddr;

use enforcer::cluster::PodKey;
use serde::{Deserialize, Serialize};

/// A node's registration, kept under its lease: it vanishes when the node stops renewing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// The node's name (`--node-name`).
    pub name: String,
    /// Its labels (`--node-label`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Its addresses as other nodes see them.
    #[serde(default)]
    pub addresses: Vec<IpAddr>,
    /// Where its pods get their addresses (`--pod-cidr`).
    #[serde(default)]
    pub pod_cidr: String,
    /// Its observer gRPC address, when it serves one on TCP.
    #[serde(default)]
    pub grpc_address: Option<String>,
    /// When the agent started, in seconds since the Unix epoch.
    #[serde(default)]
    pub started: u64,
}

impl NodeRecord {
    /// The node as the engine takes it: labels and InternalIPs.
    pub fn to_node(&self) -> enforcer::cluster::Node {
        enforcer::cluster::Node {
            name: self.name.clone(),
            labels: self.labels.clone(),
            ips: self.addresses.clone(),
        }
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
            labels: BTreeMap::from([("zone".into(), "a".into())]),
            addresses: vec!["10.254.0.2".parse().unwrap()],
            pod_cidr: "10.61.1.0/24".into(),
            grpc_address: None,
            started: 0,
        };
        let back: NodeRecord = decode("nodes/", "n1", &encode(&r)).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.to_node().ips, r.addresses);
        let e = decode::<IpcacheEntry>("ipcache/", "10.0.0.1", b"{\"identity\": \"x\"}");
        assert!(e.unwrap_err().contains("kvstore ipcache/10.0.0.1"));
    }
}
