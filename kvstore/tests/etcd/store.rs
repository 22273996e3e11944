//! Connecting, atomic commits, listings and status.

use std::time::{Duration, Instant};

use observe_kvstore::{Config, Error, FENCE_KEY, Section, Store, Update, is_fenced};

use crate::harness::{Harness, next, puts};

#[test]
fn connect_fails_fast_naming_the_endpoints() {
    let Some(h) = Harness::start("kv-connect") else {
        return;
    };
    h.run(|| async {
        let mut cfg = Config::new(vec!["http://127.0.0.1:2399".into()]);
        cfg.connect_timeout = Duration::from_secs(1);
        let started = Instant::now();
        let err = Store::connect(&cfg)
            .await
            .expect_err("nothing listens there");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert!(matches!(err, Error::Unreachable { .. }), "{err}");
        assert!(err.to_string().contains("http://127.0.0.1:2399"), "{err}");
    });
}

#[test]
fn commits_are_all_or_nothing_fenced_when_large_and_listed_at_one_revision() {
    let Some(h) = Harness::start("kv-commit") else {
        return;
    };
    h.run(|| async {
        let store = h.store().await;
        let rev1 = store
            .commit(Section::Objects, puts(&[("a", "1"), ("b", "2")]), vec![])
            .await
            .expect("commit");
        let listing = store.list(Section::Objects).await.expect("list");
        assert_eq!(listing.revision, rev1);
        assert_eq!(listing.items.len(), 2);
        assert_eq!(listing.items["a"], b"1");

        // More operations than etcd takes in one transaction (--max-txn-ops, 128): written
        // as several behind a fence that readers see go up first and come down last.
        let mut watch = observe_kvstore::reflect(store.clone(), Section::Objects);
        assert!(matches!(next(&mut watch).await, Update::Resync { .. }));
        let many: Vec<(String, Vec<u8>)> =
            (0..300).map(|i| (format!("k{i:03}"), vec![1])).collect();
        let rev_many = store
            .commit(Section::Objects, many, vec!["a".into()])
            .await
            .expect("a fenced commit");
        let after = store.list(Section::Objects).await.expect("list");
        assert_eq!(after.revision, rev_many);
        assert_eq!(after.items.len(), 301, "b and the 300 new keys");
        assert!(!is_fenced(&after.items), "the fence is down");
        let mut fence = Vec::new();
        let mut keys_seen = 0;
        while keys_seen < 301 {
            let Update::Changes { changes, .. } = next(&mut watch).await else {
                panic!("changes expected");
            };
            for (key, value) in changes {
                if key == FENCE_KEY {
                    fence.push((value.is_some(), keys_seen));
                } else {
                    keys_seen += 1;
                }
            }
        }
        assert_eq!(fence.len(), 2, "{fence:?}");
        assert!(fence[0].0 && !fence[1].0, "put, then deleted: {fence:?}");
        assert!(
            fence[0].1 < 128 && fence[1].1 > 128,
            "around the whole commit: {fence:?}"
        );
        // Back to a and b (a fenced delete of the 300).
        let deletes = (0..300).map(|i| format!("k{i:03}")).collect();
        let rev1 = store
            .commit(Section::Objects, puts(&[("a", "1")]), deletes)
            .await
            .expect("back to a and b");
        assert_eq!(
            store
                .list(Section::Objects)
                .await
                .expect("list")
                .items
                .len(),
            2
        );

        // A key named twice is refused before anything is sent.
        let dup = store
            .commit(Section::Objects, puts(&[("c", "3")]), vec!["c".into()])
            .await
            .expect_err("duplicate");
        assert!(matches!(dup, Error::DuplicateKey { .. }), "{dup}");

        // Puts and deletes together, in one revision; sections are separate.
        let rev2 = store
            .commit(Section::Objects, puts(&[("c", "3")]), vec!["a".into()])
            .await
            .expect("commit");
        assert_eq!(rev2, rev1 + 1);
        let listing = store.list(Section::Objects).await.expect("list");
        let keys: Vec<&str> = listing.items.keys().map(String::as_str).collect();
        assert_eq!(keys, ["b", "c"]);
        assert!(
            store
                .list(Section::Nodes)
                .await
                .expect("list")
                .items
                .is_empty()
        );

        let status = store.status().await.expect("status");
        assert!(status.version.starts_with("3."), "{status:?}");
        assert_eq!(status.leader, status.member_id);
        assert!(status.revision >= rev2 && status.db_size > 0, "{status:?}");
    });
}

#[test]
fn a_large_section_is_listed_in_pages() {
    let Some(h) = Harness::start("kv-pages") else {
        return;
    };
    h.run(|| async {
        let store = h.store().await;
        for chunk in 0..25 {
            let batch = (0..100)
                .map(|i| (format!("ip/{:05}", chunk * 100 + i), vec![b'x'; 16]))
                .collect();
            store
                .commit(Section::Ipcache, batch, vec![])
                .await
                .expect("commit");
        }
        let listing = store.list(Section::Ipcache).await.expect("list");
        assert_eq!(listing.items.len(), 2500);
        assert!(listing.items.contains_key("ip/02499"));
    });
}
