//! A node's registration under `nodes/<name>` (JSON), as every reader of that section
//! takes it: the agents (the cluster's nodes and their addresses) and the relay (where
//! each node's observer listens).

use std::collections::BTreeMap;
use std::net::IpAddr;

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
    /// Parses a `nodes/` value; the error names the key.
    ///
    /// # Errors
    ///
    /// A message naming the key and what is wrong with the value.
    pub fn decode(key: &str, value: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(value).map_err(|e| format!("kvstore nodes/{key}: {e}"))
    }

    /// The record as the JSON value stored.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing this plain struct cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
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
            grpc_address: Some("10.254.0.2:4244".into()),
            started: 0,
        };
        assert_eq!(NodeRecord::decode("n1", &r.encode()).unwrap(), r);
        let e = NodeRecord::decode("n1", b"{\"name\": 3}").unwrap_err();
        assert!(e.contains("kvstore nodes/n1"), "{e}");
    }
}
