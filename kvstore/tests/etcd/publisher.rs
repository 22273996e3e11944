//! The publisher: leased keys that vanish on stop, come back after a lost lease.

use std::time::Duration;

use etcd_client::GetOptions;
use observe_kvstore::{Publisher, Section, Store};

use crate::harness::{Harness, eventually};

const TTL: Duration = Duration::from_secs(2);
const FLUSH: Duration = Duration::from_secs(10);

/// The leases of every key under the store's prefix, by full key.
async fn leases(store: &Store) -> Vec<(String, i64)> {
    let prefix = store.full_key(Section::Objects, "");
    let root = prefix.trim_end_matches("objects/").to_owned();
    let mut client = store.client().clone();
    let resp = client
        .get(root, Some(GetOptions::new().with_prefix()))
        .await
        .expect("get");
    resp.kvs()
        .iter()
        .map(|kv| (String::from_utf8_lossy(kv.key()).into_owned(), kv.lease()))
        .collect()
}

#[test]
fn keys_are_leased_and_vanish_when_it_stops() {
    let Some(h) = Harness::start("kv-pub") else {
        return;
    };
    h.run(|| async {
        let store = h.store().await;
        let publisher = Publisher::start(store.clone(), TTL);
        publisher.set(Section::Nodes, "node1".into(), b"{}".to_vec());
        publisher.set(Section::Ipcache, "10.0.0.1".into(), b"1".to_vec());
        publisher.set(Section::Ipcache, "10.0.0.2".into(), b"2".to_vec());
        publisher.remove(Section::Ipcache, "10.0.0.2");
        publisher.flush(FLUSH).await.expect("flush");
        let state = publisher.state().borrow().clone();
        let lease = state.lease.expect("a lease");
        assert!(
            state.connected && state.pending == 0 && state.synced_revision > 0,
            "{state:?}"
        );
        let keys = leases(&store).await;
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(keys.iter().all(|(_, l)| *l == lease), "{keys:?}");

        publisher.remove(Section::Ipcache, "10.0.0.1");
        publisher.flush(FLUSH).await.expect("flush");
        assert_eq!(leases(&store).await.len(), 1);

        // Kept alive past several TTLs.
        tokio::time::sleep(TTL + Duration::from_millis(500)).await;
        assert_eq!(leases(&store).await.len(), 1);
        assert_eq!(publisher.state().borrow().lease, Some(lease));

        let handle = publisher.clone();
        publisher.stop().await;
        assert!(leases(&store).await.is_empty(), "revoked at once");
        assert!(handle.flush(FLUSH).await.is_err(), "stopped");
    });
}

#[test]
fn a_revoked_lease_is_replaced_and_every_key_written_again() {
    let Some(h) = Harness::start("kv-revoke") else {
        return;
    };
    h.run(|| async {
        let store = h.store().await;
        let publisher = Publisher::start(store.clone(), TTL);
        publisher.set(Section::Nodes, "node1".into(), b"n".to_vec());
        publisher.set(Section::Identities, "users/300/node1".into(), Vec::new());
        publisher.flush(FLUSH).await.expect("flush");
        let old = publisher.state().borrow().lease.expect("lease");

        store
            .client()
            .clone()
            .lease_revoke(old)
            .await
            .expect("revoke");
        assert!(
            leases(&store).await.is_empty(),
            "the keys went with the lease"
        );
        let mut state = publisher.state();
        let limit = Duration::from_secs(5);
        tokio::time::timeout(limit, state.wait_for(|s| s.lease.is_some_and(|l| l != old)))
            .await
            .expect("a new lease within 5 s")
            .expect("publisher running");
        publisher.flush(FLUSH).await.expect("flush");
        let new = publisher.state().borrow().lease.expect("lease");
        let keys = leases(&store).await;
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(keys.iter().all(|(_, l)| *l == new), "{keys:?}");
        publisher.stop().await;
    });
}

#[test]
fn after_an_outage_longer_than_the_ttl_keys_are_rewritten_under_a_new_lease() {
    let Some(h) = Harness::start("kv-pub-outage") else {
        return;
    };
    h.run(|| async {
        let store = h.store().await;
        let publisher = Publisher::start(store.clone(), TTL);
        publisher.set(Section::Nodes, "node1".into(), b"n".to_vec());
        publisher.flush(FLUSH).await.expect("flush");
        let old = publisher.state().borrow().lease.expect("lease");

        h.stop_etcd();
        let state = publisher.state();
        eventually(Duration::from_secs(5), "publisher notices", || {
            let connected = state.borrow().connected;
            async move { !connected }
        })
        .await;
        // Written while etcd is down: delivered once it is back.
        publisher.set(Section::Ipcache, "10.0.0.9".into(), b"9".to_vec());
        tokio::time::sleep(TTL + Duration::from_secs(1)).await;
        h.restart_etcd();

        publisher
            .flush(FLUSH)
            .await
            .expect("flush after the outage");
        let now = publisher.state().borrow().clone();
        let new = now.lease.expect("lease");
        assert_ne!(
            new, old,
            "the lease counted as lost after a TTL without keep-alive"
        );
        assert!(now.connected && now.last_error.is_none(), "{now:?}");
        let keys = leases(&store).await;
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(keys.iter().all(|(_, l)| *l == new), "{keys:?}");
        publisher.stop().await;
    });
}
