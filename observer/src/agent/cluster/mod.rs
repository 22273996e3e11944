//! A node in a cluster (`--kvstore`): objects, identities, nodes and the ipcache live in
//! etcd, and every node watches them and programs its own datapath. Nothing here runs
//! without `--kvstore`: a node alone keeps its objects in its state directory only.
//!
//! - [`options`]: the flags;
//! - [`record`]: what a node writes besides users' objects (registration, ipcache entries,
//!   identity references) and its keys;
//! - `view`: the cluster as the agent enforces it: the objects from etcd with remote pods'
//!   addresses from the ipcache and nodes from their registrations;
//! - `converge`: the agent brought in line with the view (the engine, with identity numbers
//!   the cluster confirmed);
//! - `publish`: what this node owns in etcd, kept current after every change;
//! - `sync`: the watch loop: etcd → view → agent, pushed, never polled;
//! - `submit`: `observe apply` and `observe delete` in cluster mode: validated here, stored in
//!   etcd in one transaction, answered once this node enforces it;
//! - [`register`]: this node's registration;
//! - [`status`]: what the node knows about the store and the other nodes, for `get nodes`.

mod converge;
pub mod identities;
mod mirror;
pub mod options;
mod publish;
pub mod record;
pub mod register;
pub mod status;
pub mod submit;
pub mod sync;
mod view;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use enforcer::identity::ClusterIds;
use observe_kvstore::{Publisher, Section, Store};

pub use status::ClusterStatus;
pub use view::View;

/// The agent's link to the cluster: the store, what it publishes there, and the cluster's
/// state it enforces.
pub struct Link {
    /// The store.
    pub store: Store,
    /// This node's leased keys.
    pub publisher: Publisher,
    /// Runs the store's requests from the agent's blocking calls.
    pub handle: tokio::runtime::Handle,
    /// The identity numbers the cluster allocated.
    pub ids: Arc<ClusterIds>,
    /// The cluster as last seen.
    pub view: View,
    /// What the node and the watchers report.
    pub status: Arc<ClusterStatus>,
    /// Keys this node publishes and their values, to write only what changed and
    /// withdraw what is no longer true.
    published: BTreeMap<(SectionKey, String), Vec<u8>>,
    /// How long store requests from the agent may take.
    timeout: Duration,
}

/// A section as a sortable key (the store's `Section` need not be `Ord`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SectionKey {
    Ipcache,
    Identities,
}

impl SectionKey {
    fn section(self) -> Section {
        match self {
            Self::Ipcache => Section::Ipcache,
            Self::Identities => Section::Identities,
        }
    }
}

impl Link {
    /// Connects to the store named by `--kvstore` and starts this node's publisher.
    ///
    /// # Errors
    ///
    /// A bad URL, or a store that cannot be reached.
    pub async fn connect(opts: &options::ClusterOptions, url: &str) -> Result<Self> {
        let config = opts
            .store
            .config()
            .with_context(|| format!("invalid --kvstore {url:?}"))?
            .context("--kvstore is not set")?;
        let store = Store::connect(&config)
            .await
            .with_context(|| format!("cannot reach the kvstore at {url}"))?;
        let publisher = Publisher::start(store.clone(), opts.kvstore_lease_ttl);
        Ok(Self {
            store,
            publisher,
            handle: tokio::runtime::Handle::current(),
            ids: Arc::default(),
            view: View::default(),
            status: Arc::new(ClusterStatus::new(url)),
            published: BTreeMap::new(),
            timeout: config.request_timeout,
        })
    }

    /// Runs a store request from a blocking thread (the agent's), bounded by the request
    /// timeout.
    fn block_on<T>(
        &self,
        what: &str,
        f: impl std::future::Future<Output = Result<T, observe_kvstore::Error>>,
    ) -> Result<T> {
        let timeout = self.timeout;
        self.handle
            .block_on(async { tokio::time::timeout(timeout, f).await })
            .map_err(|_| anyhow::anyhow!("{what}: the kvstore did not answer within {timeout:?}"))?
            .with_context(|| what.to_string())
    }
}
