//! The agent's state machine: applied objects → engine → local endpoints → datapath maps
//! and links, persisted after every change and published to the decoder.
//!
//! Every change runs the same three steps: change the engine (atomic: a failed apply
//! changes nothing), make the local endpoints match the pods scheduled here (creating
//! namespaces and veths, or adopting them after a restart), and write the datapath's maps
//! as a diff (endpoints whose pods are gone are detached and removed afterwards, so their
//! packets never meet a missing endpoint entry while still attached).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use anyhow::{Context, Result, anyhow};
use enforcer::cluster::{Pod, PodKey};
use enforcer::datapath::attach::Interface;
use enforcer::datapath::{CookieTable, Datapath, DesiredState, EndpointInput, IpCacheInput};
use enforcer::engine::{Engine, EngineConfig, ObjectKey};
use enforcer::manifest::Object;
use enforcer::net::Cidr;

use super::endpoints::{LocalEndpoint, Plumber, Records, assign_addresses, free_id};
use super::options::Options;
use super::snapshot::{SharedSnapshot, Snapshot};
use super::store::{State, Store};

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

/// The agent.
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
}

impl Agent {
    /// Loads (or adopts) the datapath, replays the saved objects, adopts or recreates the
    /// local endpoints, and brings the maps in line.
    pub fn start(opts: &Options, node_netns: String, snapshot: SharedSnapshot) -> Result<Self> {
        let store = Store::open(&opts.state_dir)?;
        let state = store.load()?;
        let mut datapath = Datapath::load_or_adopt(&opts.pin_root, &opts.node_name)
            .context("cannot load the datapath")?;
        datapath
            .config_map()
            .set_trace_mode(opts.trace.value())
            .context("cannot set the trace mode")?;
        let last = state.last_cookie.max(datapath.max_pinned_cookie()?);
        let cookies = CookieTable::restore(last, state.cookies.clone());
        let config = EngineConfig {
            cluster_name: opts.cluster_name.clone(),
            default_node: opts.node_name.clone(),
            allow_localhost: true,
        };
        let mut engine = Engine::new(config);
        engine
            .apply(state.objects.values().cloned())
            .context("the saved state does not apply")?;
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
        };
        let previous: Records = state
            .endpoints
            .into_iter()
            .map(|r| (r.pod.clone(), r))
            .collect();
        agent.reconcile_endpoints(&previous)?;
        agent.sync()?;
        agent.persist()?;
        Ok(agent)
    }

    /// The engine (for traces and listings).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The local endpoints.
    pub fn endpoints(&self) -> &BTreeMap<PodKey, LocalEndpoint> {
        &self.endpoints
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The datapath (counters, config).
    pub fn datapath(&mut self) -> &mut Datapath {
        &mut self.datapath
    }

    /// Applies objects; returns one result line per object.
    pub fn apply(&mut self, mut objects: Vec<Object>) -> Result<Vec<String>, Refused> {
        self.assign_addresses(&mut objects)
            .map_err(|e| Refused::Invalid(e.to_string()))?;
        let results: Vec<String> = objects.iter().map(|o| self.result_line(o)).collect();
        let backup = self.engine.clone();
        self.engine
            .apply(objects.clone())
            .map_err(|e| Refused::Invalid(e.to_string()))?;
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

    /// Deletes objects by key; returns one result line per key.
    pub fn delete(&mut self, keys: &[ObjectKey]) -> Result<Vec<String>, Refused> {
        let results = keys
            .iter()
            .map(|k| {
                let known = self.objects.contains_key(&k.to_string());
                format!("{k} {}", if known { "deleted" } else { "not found" })
            })
            .collect();
        self.engine.delete(keys);
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
        let key = ObjectKey::of(o).to_string();
        let verb = match self.objects.get(&key) {
            None => "created",
            Some(old) if old == o => "unchanged",
            Some(_) => "configured",
        };
        format!("{key} {verb}")
    }

    /// Pods scheduled here and applied without an address get one from `--pod-cidr`.
    fn assign_addresses(&self, objects: &mut [Object]) -> Result<()> {
        let taken: BTreeSet<IpAddr> = self
            .engine
            .endpoints()
            .flat_map(|e| e.pod.ips.iter().copied())
            .collect();
        let node = self.node.clone();
        let mut pods: Vec<&mut Pod> = objects
            .iter_mut()
            .filter_map(|o| match o {
                Object::Pod(p) if p.node.as_deref().is_none_or(|n| n == node) => Some(p),
                _ => None,
            })
            .collect();
        assign_addresses(&mut pods, &self.pod_cidr, &taken)
    }

    /// Endpoints, datapath and snapshot after an engine change.
    fn settle(&mut self) -> Result<()> {
        let previous: Records = self
            .endpoints
            .values()
            .map(|e| (e.record.pod.clone(), e.record.clone()))
            .collect();
        let gone = self.reconcile_endpoints(&previous)?;
        self.sync()?;
        for ep in gone {
            self.retire(&ep);
        }
        Ok(())
    }

    /// Makes `self.endpoints` hold exactly the pods scheduled here; returns the endpoints
    /// that must go (removed after the next sync).
    fn reconcile_endpoints(&mut self, previous: &Records) -> Result<Vec<LocalEndpoint>> {
        let wanted: BTreeMap<PodKey, Pod> = self
            .engine
            .endpoints()
            .filter(|e| e.node == self.node)
            .map(|e| (e.pod.key.clone(), e.pod.clone()))
            .collect();
        let mut gone = Vec::new();
        for key in self.endpoints.keys().cloned().collect::<Vec<_>>() {
            // A pod whose addresses changed gets a new endpoint.
            let keep = wanted.get(&key).is_some_and(|p| {
                self.endpoints
                    .get(&key)
                    .is_some_and(|e| e.record.ips == p.ips)
            });
            if !keep {
                gone.extend(self.endpoints.remove(&key));
            }
        }
        // Stale records from before a restart whose pods are gone.
        for (key, rec) in previous {
            if !wanted.contains_key(key)
                && !self.endpoints.contains_key(key)
                && !gone.iter().any(|g| &g.record.pod == key)
            {
                gone.push(LocalEndpoint {
                    record: rec.clone(),
                    ifindex: 0,
                });
            }
        }
        for (key, pod) in &wanted {
            if self.endpoints.contains_key(key) {
                continue;
            }
            let used: BTreeSet<u16> = self.endpoints.values().map(|e| e.record.id).collect();
            let id = previous
                .get(key)
                .map(|r| r.id)
                .filter(|id| !used.contains(id))
                .or_else(|| free_id(&used));
            let id = id.ok_or_else(|| anyhow!("no free endpoint id"))?;
            let ep = self.plumber.ensure(pod, id, previous.get(key))?;
            self.endpoints.insert(key.clone(), ep);
        }
        Ok(gone)
    }

    /// Writes the maps for the current engine and endpoints, attaches new endpoints.
    fn sync(&mut self) -> Result<()> {
        let view = self.node.clone();
        let ipcache: Vec<IpCacheInput> = self
            .engine
            .ipcache(&view)
            .into_iter()
            .map(|e| IpCacheInput {
                cidr: e.cidr,
                identity: e.identity,
            })
            .collect();
        let inputs: Vec<EndpointInput<'_>> = self
            .endpoints
            .iter()
            .filter_map(|(key, ep)| {
                let e = self.engine.endpoint(key)?;
                Some(EndpointInput {
                    ifindex: ep.ifindex,
                    endpoint_id: ep.record.id,
                    identity: e.identity,
                    policy: &e.policy,
                })
            })
            .collect();
        let desired = DesiredState::build(inputs, ipcache, &mut self.cookies)
            .context("cannot compute the datapath state")?;
        self.datapath
            .apply(&desired)
            .context("cannot write the datapath maps")?;
        self.cookies.release_unused(&desired.cookies());
        for ep in self.endpoints.values() {
            if self.attached.insert(ep.ifindex) {
                self.datapath
                    .attach(&Interface::Index(ep.ifindex))
                    .with_context(|| format!("cannot attach to {}", ep.record.host_ifname))?;
            }
        }
        self.publish();
        Ok(())
    }

    /// Detaches and removes an endpoint that is no longer wanted; failures are logged (the
    /// maps no longer know it, so it cannot pass traffic either way).
    fn retire(&mut self, ep: &LocalEndpoint) {
        if ep.ifindex != 0 {
            self.attached.remove(&ep.ifindex);
            if let Err(e) = self.datapath.detach(&Interface::Index(ep.ifindex)) {
                tracing::warn!("detaching {}: {e}", ep.record.host_ifname);
            }
        }
        if let Err(e) = self.plumber.remove(ep) {
            tracing::warn!("{e:#}");
        }
    }

    fn publish(&self) {
        let local = self
            .endpoints
            .iter()
            .map(|(k, e)| (k, e.record.id, e.ifindex, e.record.host_ifname.as_str()));
        let (_, cookies) = self.cookies.export();
        self.snapshot
            .publish(Snapshot::build(&self.engine, local, &cookies));
    }

    fn persist(&self) -> Result<()> {
        let (last_cookie, cookies) = self.cookies.export();
        let state = State {
            version: 1,
            objects: self.objects.clone(),
            endpoints: self.endpoints.values().map(|e| e.record.clone()).collect(),
            last_cookie,
            cookies,
        };
        self.store.save(&state)
    }
}
