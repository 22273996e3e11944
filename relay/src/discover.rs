//! Where the relay learns its nodes: a static `--peer` list, or the cluster's `nodes/`
//! records in etcd (every registered node with an observer address). The etcd view is
//! watched, so nodes come and go with their registrations (a stopped node's lease
//! expires and it leaves); while etcd is unreachable the last known set stays.

use std::collections::BTreeMap;
use std::time::Duration;

use observe_kvstore::{NodeRecord, Section, Store, Update, reflect};

use crate::peers::Peers;

/// How long to wait before trying an unreachable store again.
const STORE_RETRY: Duration = Duration::from_secs(2);

/// Keeps `peers` equal to the nodes registered in the store of `config`; forever.
pub async fn from_kvstore(config: observe_kvstore::Config, peers: Peers) {
    let store = loop {
        match Store::connect(&config).await {
            Ok(store) => break store,
            Err(e) => {
                tracing::warn!(error = %e, "relay: kvstore unreachable; retrying");
                tokio::time::sleep(STORE_RETRY).await;
            }
        }
    };
    let mut updates = reflect(store, Section::Nodes);
    let mut records: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    while let Some(update) = updates.recv().await {
        match update {
            Update::Resync { items, .. } => records = items,
            Update::Changes { changes, .. } => {
                for (key, value) in changes {
                    match value {
                        Some(v) => records.insert(key, v),
                        None => records.remove(&key),
                    };
                }
            }
            Update::Down { error } => {
                tracing::warn!(%error, "relay: kvstore down; keeping the known nodes");
                continue;
            }
        }
        peers.set_members(&members(&records));
    }
}

/// Node name → observer address, for the records that have one.
pub fn members(records: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    records
        .iter()
        .filter_map(|(key, value)| match NodeRecord::decode(key, value) {
            Ok(record) => record.grpc_address.map(|a| (record.name, a)),
            Err(e) => {
                tracing::warn!(error = %e, "relay: skipping a node record");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_without_an_address_or_with_bad_records_are_left_out() {
        let record = |name: &str, addr: Option<&str>| NodeRecord {
            name: name.into(),
            labels: BTreeMap::new(),
            addresses: vec![],
            pod_cidr: String::new(),
            grpc_address: addr.map(String::from),
            started: 0,
        };
        let records = BTreeMap::from([
            (
                "n1".to_string(),
                record("n1", Some("10.254.0.1:4244")).encode(),
            ),
            ("n2".to_string(), record("n2", None).encode()),
            ("n3".to_string(), b"{not json".to_vec()),
        ]);
        let m = members(&records);
        assert_eq!(m, BTreeMap::from([("n1".into(), "10.254.0.1:4244".into())]));
    }
}
