//! Identity allocation and collection (Cilium kvstore-mode semantics).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use observe_kvstore::identity::keys::user_key;
use observe_kvstore::{Error, Section, UnusedSince};

use crate::harness::Harness;

#[test]
fn two_clients_allocating_concurrently_agree() {
    let Some(h) = Harness::start("kv-ident") else {
        return;
    };
    h.run(|| async {
        let clients = [h.store().await, h.store().await];
        let mut tasks = Vec::new();
        for (c, store) in clients.iter().enumerate() {
            for i in 0..50u32 {
                let store = store.clone();
                let set = (i + c as u32 * 7) % 20;
                tasks.push(tokio::spawn(async move {
                    let labels = format!("k8s:app=svc{set}");
                    // Few preferred numbers for many label sets: collisions on purpose.
                    let id = store
                        .allocate_identity(&labels, 1000 + set % 4, 1000..=1999)
                        .await;
                    (labels, id.expect("allocate"))
                }));
            }
        }
        let mut by_labels: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
        for task in tasks {
            let (labels, id) = task.await.expect("task");
            by_labels.entry(labels).or_default().insert(id);
        }
        assert_eq!(by_labels.len(), 20);
        let mut numbers = BTreeSet::new();
        for (labels, ids) in &by_labels {
            assert_eq!(ids.len(), 1, "{labels} got {ids:?}");
            assert!(
                numbers.insert(*ids.first().expect("one")),
                "{labels} shares a number"
            );
        }
        // etcd holds exactly those, both ways.
        let listing = clients[0].list(Section::Identities).await.expect("list");
        for (labels, ids) in &by_labels {
            let id = ids.first().expect("one");
            assert_eq!(listing.items[&format!("id/{id}")], labels.as_bytes());
            assert_eq!(
                listing.items[&format!("labels/{labels}")],
                id.to_string().as_bytes()
            );
        }
        assert_eq!(listing.items.len(), 40);
    });
}

#[test]
fn a_taken_preferred_number_probes_on_and_wraps() {
    let Some(h) = Harness::start("kv-probe") else {
        return;
    };
    h.run(|| async {
        let store = h.store().await;
        let alloc = |labels: &'static str, preferred, range| {
            let store = store.clone();
            async move { store.allocate_identity(labels, preferred, range).await }
        };
        assert_eq!(alloc("a", 500, 500..=504).await.expect("a"), 500);
        assert_eq!(alloc("b", 500, 500..=504).await.expect("b"), 501);
        assert_eq!(alloc("c", 502, 500..=504).await.expect("c"), 502);
        assert_eq!(alloc("d", 502, 500..=504).await.expect("d"), 503);
        assert_eq!(alloc("e", 503, 500..=504).await.expect("e"), 504);
        assert_eq!(alloc("f", 504, 499..=504).await.expect("f wraps"), 499);
        // Existing labels keep their number whatever is preferred.
        assert_eq!(alloc("a", 999, 1..=2000).await.expect("a again"), 500);
        // A preferred number outside the range starts at the range's start.
        assert_eq!(alloc("g", 7, 600..=601).await.expect("g"), 600);
        let full = alloc("h", 500, 499..=504).await.expect_err("range full");
        assert!(matches!(full, Error::Exhausted { .. }), "{full}");
        let empty = alloc("", 1, 1..=2).await.expect_err("empty labels");
        assert!(matches!(empty, Error::InvalidArgument(_)), "{empty}");
    });
}

#[test]
fn the_collector_deletes_only_what_stayed_unused_past_grace() {
    let Some(h) = Harness::start("kv-gc") else {
        return;
    };
    h.run(|| async {
        let store = h.store().await;
        let grace = Duration::from_millis(800);
        let a = store
            .allocate_identity("a", 100, 100..=199)
            .await
            .expect("a");
        let b = store
            .allocate_identity("b", 100, 100..=199)
            .await
            .expect("b");
        let c = store
            .allocate_identity("c", 100, 100..=199)
            .await
            .expect("c");
        let d = store
            .allocate_identity("d", 100, 100..=199)
            .await
            .expect("d");
        let user = |id| (user_key(id, "node1"), Vec::new());
        store
            .commit(Section::Identities, vec![user(b)], vec![])
            .await
            .expect("user");

        let mut seen = UnusedSince::new();
        let first = store
            .collect_identities(grace, &mut seen)
            .await
            .expect("gc");
        assert!(first.is_empty(), "nothing is due on first sight");
        assert!(seen.contains(a) && seen.contains(c) && seen.contains(d) && !seen.contains(b));

        // c regains a user, d is allocated again (touched): neither may go.
        store
            .commit(Section::Identities, vec![user(c)], vec![])
            .await
            .expect("user");
        tokio::time::sleep(grace + Duration::from_millis(100)).await;
        assert_eq!(
            store
                .allocate_identity("d", 0, 100..=199)
                .await
                .expect("d again"),
            d
        );
        let second = store
            .collect_identities(grace, &mut seen)
            .await
            .expect("gc");
        assert_eq!(second, [a]);
        assert!(!seen.contains(c), "c is used again");
        assert!(seen.contains(d), "d's wait started again");

        let items = store.list(Section::Identities).await.expect("list").items;
        assert!(!items.contains_key(&format!("id/{a}")) && !items.contains_key("labels/a"));
        assert!(items.contains_key(&format!("id/{b}")) && items.contains_key(&format!("id/{c}")));

        tokio::time::sleep(grace + Duration::from_millis(100)).await;
        assert_eq!(
            store
                .collect_identities(grace, &mut seen)
                .await
                .expect("gc"),
            [d]
        );
        assert!(seen.is_empty());
        // A collected label set gets a number again.
        let again = store
            .allocate_identity("a", a, 100..=199)
            .await
            .expect("a again");
        assert_eq!(again, a);
    });
}
