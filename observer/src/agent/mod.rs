//! The node agent behind `observerd` (feature `agent`). [`Agent`] (here) owns the engine,
//! the eBPF datapath and the local endpoints; [`run()`] wires it to the event pipeline and
//! serves the observer and control APIs on one unix socket until SIGTERM.
//!
//! - [`options`]: command-line options;
//! - [`node`]: the start: the mount check, the node namespace and its IP forwarding;
//! - `run`: the wiring of [`run()`]: pipeline, optional hooks, agent, listeners;
//! - `reconcile`: applied objects → engine → endpoints → maps and links (the state machine);
//! - [`endpoints`]: endpoint namespaces, names, ids and addresses;
//! - [`store`]: what survives a restart;
//! - [`fqdn`]: the DNS caches behind `toFQDNs`, and the DNS proxy's port;
//! - [`dns_proxy`]: the transparent DNS proxy, judged by the engine, feeding the caches;
//! - [`http_proxy`]: the transparent HTTP proxy, judged by the engine, reporting L7 flows;
//! - [`proxy_view`]: the copy of the engine the proxies judge with, published per change;
//! - [`snapshot`]: the read-only view the decoder enriches flows from;
//! - [`control`]: the control gRPC service;
//! - [`ringbuf`]: where events cross from the kernel: the BPF ring buffer drained into the
//!   pipeline, and the kernel's loss counter;
//! - [`cluster`]: a node in a cluster (`--kvstore`): the state in etcd, watched and enforced;
//! - [`clock`]: monotonic-to-wall-clock conversion;
//! - [`listeners`]: the unix socket, the optional TCP (TLS) and metrics listeners;
//! - [`socket`]: the unix socket's group;
//! - [`maps`]: datapath map occupancy for the metrics.
//!
//! Optional pipeline hooks, each enabled by its flags: metrics (`--metrics-address`),
//! flow export (`--export-file`) and on-disk history (`--history-dir`).

pub mod aggregation;
pub mod clock;
pub mod cluster;
pub mod control;
pub mod control_traffic;
pub mod dns_proxy;
pub mod endpoints;
pub mod fqdn;
pub mod host_firewall;
pub mod http_proxy;
pub mod listeners;
pub mod maps;
pub mod node;
pub mod options;
mod proxy_support;
pub mod proxy_view;
mod reconcile;
pub mod ringbuf;
mod run;
pub mod snapshot;
pub mod socket;
pub mod staged;
pub mod store;
pub mod whatif;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use anyhow::{Context, Result};
use enforcer::cluster::{Pod, PodKey};
use enforcer::datapath::{CookieTable, Datapath};
use enforcer::engine::{Engine, EngineConfig, ObjectKey};
use enforcer::manifest::Object;
use enforcer::net::Cidr;

use endpoints::{LocalEndpoint, Plumber, Records, assign_addresses};
pub use node::enter_node;
use options::Options;
pub use run::run;
use snapshot::SharedSnapshot;
use store::Store;

/// Why a request was refused (nothing changed).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The input is invalid; the message lists every problem.
    #[error("{0}")]
    Invalid(String),
    /// The agent could not carry the change out (and rolled it back).
    #[error("{0:#}")]
    Failed(anyhow::Error),
}

/// The node agent: the engine, the datapath, the local endpoints and the applied objects.
/// Every request ([`Agent::apply`], [`Agent::delete`]) goes through the same state machine
/// (`reconcile`), which keeps them in line, persists them and publishes the decoder's
/// snapshot.
pub struct Agent {
    node: String,
    engine: Engine,
    datapath: Datapath,
    cookies: CookieTable,
    endpoints: BTreeMap<PodKey, LocalEndpoint>,
    attached: BTreeSet<u32>,
    objects: BTreeMap<String, Object>,
    plumber: Plumber,
    pod_cidr: Cidr,
    store: Store,
    snapshot: SharedSnapshot,
    fqdn: fqdn::Fqdn,
    proxy_view: proxy_view::SharedProxyView,
    /// The cluster this node is part of (`--kvstore`).
    cluster: Option<cluster::Link>,
    /// Staged policies (`observe policy stage`), not persisted.
    staged: Option<staged::Staged>,
    /// The devices the host endpoint runs on (`--enable-host-firewall`).
    devices: Vec<host_firewall::Device>,
    /// What the agent's own control traffic goes to (checked against host policies).
    control: control_traffic::ControlPeers,
}

impl Agent {
    /// Loads (or adopts) the datapath, replays the saved objects, adopts or recreates the
    /// local endpoints, and brings the maps in line.
    pub fn start(
        opts: &Options,
        node_netns: String,
        snapshot: SharedSnapshot,
        cluster: Option<cluster::Link>,
    ) -> Result<Self> {
        let store = Store::open(&opts.state_dir)?;
        let state = store.load()?;
        let mut datapath = Datapath::load_or_adopt(&opts.pin_root, &opts.node_name)
            .context("cannot load the datapath")?;
        for pin in datapath.replaced_pins() {
            tracing::warn!(
                map = pin.map,
                "a pinned map of an older layout was replaced by a new, empty one: {}",
                pin.detail
            );
        }
        let (trace_mode, interval_ms) = (opts.trace.value(), opts.aggregation_interval_ms());
        datapath
            .config_map()
            .update(|c| {
                c.trace_mode = trace_mode;
                c.aggregation_interval_ms = interval_ms;
            })
            .context("cannot set the trace mode")?;
        let last = state.last_cookie.max(datapath.max_pinned_cookie()?);
        let cookies = CookieTable::restore(last, state.cookies.clone());
        let config = EngineConfig {
            cluster_name: opts.cluster_name.clone(),
            default_node: opts.node_name.clone(),
            allow_localhost: true,
            host_firewall: opts.enable_host_firewall,
        };
        let mut engine = Engine::new(config);
        engine
            .apply(state.objects.values().cloned())
            .context("the saved state does not apply")?;
        // What the DNS proxy learned before a restart is selected before the first sync,
        // so traffic to learned names keeps flowing.
        let fqdn = fqdn::Fqdn::load(&opts.state_dir, opts.fqdn_cache_config())?;
        engine.set_dns_names(fqdn.names());
        // Endpoint namespaces are named after the node's; on a real host (an unnamed
        // namespace) after the product.
        let netns_prefix = match (&opts.netns_prefix, node_netns.is_empty()) {
            (Some(p), _) => p.clone(),
            (None, false) => node_netns.clone(),
            (None, true) => "observe".to_string(),
        };
        let mut agent = Self {
            node: opts.node_name.clone(),
            engine,
            datapath,
            cookies,
            endpoints: BTreeMap::new(),
            attached: BTreeSet::new(),
            objects: state.objects,
            plumber: Plumber {
                node_netns,
                netns_prefix,
            },
            pod_cidr: opts.pod_cidr,
            store,
            snapshot,
            fqdn,
            proxy_view: proxy_view::SharedProxyView::default(),
            cluster,
            staged: None,
            devices: host_firewall::devices(opts)?,
            control: control_traffic::ControlPeers::from_options(opts),
        };
        let previous: Records = state
            .endpoints
            .into_iter()
            .map(|r| (r.pod.clone(), r))
            .collect();
        agent.retire_stale_devices();
        agent.reconcile_endpoints(&previous)?;
        agent.sync()?;
        agent.persist()?;
        agent.publish_proxy_view();
        if let Some(link) = &agent.cluster {
            link.register(&cluster::register::record(opts)?);
        }
        agent.publish_cluster();
        Ok(agent)
    }

    /// The engine (for traces and listings).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Stages `objects` (policies only), replacing any staged set; returns one line per
    /// policy with what applying it would do (`... staged (would be created)`).
    pub fn stage(&mut self, objects: Vec<Object>) -> Result<Vec<String>, Refused> {
        let results = objects
            .iter()
            .map(|o| format!("{} staged (would be {})", ObjectKey::of(o), self.verb(o)))
            .collect();
        let staged = staged::Staged::new(&self.engine, objects).map_err(Refused::Invalid)?;
        self.staged = Some(staged);
        self.publish();
        Ok(results)
    }

    /// Drops the staged set; returns the keys of the policies it held.
    pub fn unstage(&mut self) -> Vec<String> {
        let keys = self.staged.take().map(|s| s.keys()).unwrap_or_default();
        self.publish();
        keys
    }

    /// Takes the staged set out to promote it (`None` when nothing is staged).
    pub fn take_staged(&mut self) -> Option<Vec<Object>> {
        let objects = self.staged.take().map(staged::Staged::into_objects);
        self.publish();
        objects
    }

    /// Puts a staged set back after its promotion failed.
    pub fn restage(&mut self, objects: Vec<Object>) {
        if let Ok(staged) = staged::Staged::new(&self.engine, objects) {
            self.staged = Some(staged);
            self.publish();
        }
    }

    /// The local endpoints.
    pub fn endpoints(&self) -> &BTreeMap<PodKey, LocalEndpoint> {
        &self.endpoints
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The cluster this node is part of, if any.
    pub fn cluster(&self) -> Option<&cluster::Link> {
        self.cluster.as_ref()
    }

    /// The datapath (counters, config).
    pub fn datapath(&mut self) -> &mut Datapath {
        &mut self.datapath
    }

    /// Applies objects; returns one result line per object.
    pub fn apply(&mut self, mut objects: Vec<Object>, force: bool) -> Result<Vec<String>, Refused> {
        self.assign_addresses(&mut objects)
            .map_err(|e| Refused::Invalid(e.to_string()))?;
        let results: Vec<String> = objects.iter().map(|o| self.result_line(o)).collect();
        let backup = self.engine.clone();
        self.engine
            .apply(objects.clone())
            .map_err(|e| Refused::Invalid(e.to_string()))?;
        if let Err(refused) = self.guard_control(&backup, &self.engine, force) {
            self.engine = backup;
            return Err(refused);
        }
        if let Err(e) = self.settle() {
            self.engine = backup;
            let _ = self.settle();
            return Err(Refused::Failed(e));
        }
        for o in objects {
            self.objects.insert(ObjectKey::of(&o).to_string(), o);
        }
        self.persist().map_err(Refused::Failed)?;
        Ok(results)
    }

    /// Deletes objects by key; returns one result line per key. Refused (nothing changes)
    /// when a host policy would then cut an agent from its control traffic, unless `force`.
    pub fn delete(&mut self, keys: &[ObjectKey], force: bool) -> Result<Vec<String>, Refused> {
        let results = keys
            .iter()
            .map(|k| {
                let known = self.objects.contains_key(&k.to_string());
                format!("{k} {}", if known { "deleted" } else { "not found" })
            })
            .collect();
        let backup = self.engine.clone();
        self.engine.delete(keys);
        if let Err(refused) = self.guard_control(&backup, &self.engine, force) {
            self.engine = backup;
            return Err(refused);
        }
        self.settle().map_err(Refused::Failed)?;
        for k in keys {
            self.objects.remove(&k.to_string());
        }
        self.persist().map_err(Refused::Failed)?;
        Ok(results)
    }

    /// Keys of every applied policy.
    pub fn policy_keys(&self) -> Vec<ObjectKey> {
        self.engine
            .policies()
            .map(|p| ObjectKey::Policy((*p.origin).clone()))
            .collect()
    }

    fn result_line(&self, o: &Object) -> String {
        format!("{} {}", ObjectKey::of(o), self.verb(o))
    }

    /// What applying `o` does: `created`, `configured` or `unchanged`.
    fn verb(&self, o: &Object) -> &'static str {
        match self.objects.get(&ObjectKey::of(o).to_string()) {
            None => "created",
            Some(old) if old == o => "unchanged",
            Some(_) => "configured",
        }
    }

    /// Pods scheduled here and applied without an address get one from `--pod-cidr`; so
    /// do the pods of workloads, whose addresses the workload keeps (a pod that exists
    /// already keeps its address).
    fn assign_addresses(&self, objects: &mut [Object]) -> Result<()> {
        let taken: BTreeSet<IpAddr> = self
            .engine
            .endpoints()
            .flat_map(|e| e.pod.ips.iter().copied())
            .collect();
        let node = self.node.clone();
        let local = |p: &Pod| p.node.as_deref().is_none_or(|n| n == node);
        let mut generated: Vec<(usize, Vec<Pod>)> = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            if let Object::Workload(w) = o {
                let mut pods = self.engine.pods_of(w, objects);
                pods.retain(|p| local(p));
                for p in pods.iter_mut().filter(|p| p.ips.is_empty()) {
                    if let Some(e) = self.engine.endpoint(&p.key) {
                        p.ips.clone_from(&e.pod.ips);
                    }
                }
                generated.push((i, pods));
            }
        }
        let mut pods: Vec<&mut Pod> = objects
            .iter_mut()
            .filter_map(|o| match o {
                Object::Pod(p) if local(p) => Some(p),
                _ => None,
            })
            .chain(generated.iter_mut().flat_map(|(_, pods)| pods.iter_mut()))
            .collect();
        assign_addresses(&mut pods, &self.pod_cidr, &taken)?;
        for (i, pods) in generated {
            if let Some(Object::Workload(w)) = objects.get_mut(i) {
                w.addresses = pods.into_iter().map(|p| (p.key.name, p.ips)).collect();
            }
        }
        Ok(())
    }
}
