//! [`Harness`]: a lab node running etcd, and a way to run async test code inside it.

use std::future::Future;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use lab::etcd::{Etcd, EtcdTls};
use lab::{Lab, NodeRef};
use observe_kvstore::{Config, Store, Update};
use tokio::sync::mpsc;

/// etcd's client port inside each test's own namespace.
pub const PORT: u16 = 2379;

/// A lab with one node and etcd on its loopback. Fields drop in order: etcd before the lab.
pub struct Harness {
    etcd: Mutex<Etcd>,
    pub node: NodeRef,
    _lab: Lab,
}

impl Harness {
    /// A fresh lab tagged `tag` with etcd running; `None` without root (test skipped).
    pub fn start(tag: &str) -> Option<Harness> {
        Harness::start_with(tag, None)
    }

    /// As [`Harness::start`], etcd serving clients over TLS.
    pub fn start_tls(tag: &str, tls: &EtcdTls) -> Option<Harness> {
        Harness::start_with(tag, Some(tls))
    }

    fn start_with(tag: &str, tls: Option<&EtcdTls>) -> Option<Harness> {
        if !lab::require_root() {
            return None;
        }
        let mut lab = Lab::new(tag).expect("lab");
        let node = lab.add_node("kv").expect("node");
        let localhost: IpAddr = "127.0.0.1".parse().expect("address");
        let etcd = match tls {
            None => Etcd::start(&node.netns, localhost, PORT, "e1"),
            Some(tls) => Etcd::start_tls(&node.netns, localhost, PORT, "e1", tls),
        }
        .expect("etcd");
        Some(Harness {
            etcd: Mutex::new(etcd),
            node,
            _lab: lab,
        })
    }

    /// The store configuration for this etcd (shorter timeouts than the defaults).
    pub fn config(&self) -> Config {
        let mut cfg = Config::new(vec![self.etcd().client_url()]);
        cfg.request_timeout = Duration::from_secs(2);
        cfg
    }

    /// The etcd server.
    pub fn etcd(&self) -> MutexGuard<'_, Etcd> {
        self.etcd.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops etcd (from async code: blocks this worker only).
    pub fn stop_etcd(&self) {
        tokio::task::block_in_place(|| self.etcd().stop().expect("stop etcd"));
    }

    /// Starts etcd again on the same data (from async code).
    pub fn restart_etcd(&self) {
        tokio::task::block_in_place(|| self.etcd().start_again().expect("restart etcd"));
    }

    /// Runs `test` to completion on a two-worker runtime inside the node's namespace, so
    /// every socket it opens belongs to the namespace.
    pub fn run<F, Fut>(&self, test: F)
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = ()>,
    {
        lab::in_netns(&self.node.netns, || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(test());
        })
        .expect("enter the node's namespace");
    }

    /// A store connected to this etcd.
    pub async fn store(&self) -> Store {
        Store::connect(&self.config()).await.expect("connect")
    }
}

/// The next update, within 10 s.
pub async fn next(rx: &mut mpsc::Receiver<Update>) -> Update {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an update within 10 s")
        .expect("the reflector is running")
}

/// Waits (polling every 50 ms, at most `limit`) until `check` holds.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `(key, value)` pairs for a commit.
pub fn puts(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
        .collect()
}
