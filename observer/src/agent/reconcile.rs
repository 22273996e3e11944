//! The agent's state machine: applied objects → engine → local endpoints → datapath maps
//! and links, persisted after every change and published to the decoder.
//!
//! Every change runs the same three steps: change the engine (atomic: a failed apply
//! changes nothing), make the local endpoints match the pods scheduled here (creating
//! namespaces and veths, or adopting them after a restart), and write the datapath's maps
//! as a diff (endpoints whose pods are gone are detached and removed afterwards, so their
//! packets never meet a missing endpoint entry while still attached). [`Agent`] itself,
//! its start and the requests it takes, are in the module above.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, anyhow};
use enforcer::cluster::{Pod, PodKey};
use enforcer::datapath::attach::Interface;
use enforcer::datapath::{DesiredState, EndpointInput, IpCacheInput};
use enforcer::net::Cidr;

use super::Agent;
use super::endpoints::{LocalEndpoint, Records, free_id};
use super::host_firewall::{self, HOST_ENDPOINT_ID};
use super::snapshot::Snapshot;
use super::store::State;

impl Agent {
    /// Endpoints, datapath and snapshot after an engine change.
    pub(super) fn settle(&mut self) -> Result<()> {
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
        self.publish_proxy_view();
        Ok(())
    }

    /// Makes `self.endpoints` hold exactly the pods scheduled here; returns the endpoints
    /// that must go (removed after the next sync).
    pub(super) fn reconcile_endpoints(&mut self, previous: &Records) -> Result<Vec<LocalEndpoint>> {
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
    pub(super) fn sync(&mut self) -> Result<()> {
        if let Some(staged) = &mut self.staged {
            staged.rebase(&self.engine);
        }
        let view = self.node.clone();
        let zombies = self.fqdn.zombies();
        let ipcache: Vec<IpCacheInput> = self
            .engine
            .ipcache(&view)
            .into_iter()
            .map(|e| IpCacheInput {
                zombie: e.cidr == Cidr::host(e.cidr.addr()) && zombies.contains(&e.cidr.addr()),
                cidr: e.cidr,
                identity: e.identity,
            })
            .collect();
        let mut inputs: Vec<EndpointInput<'_>> = self
            .endpoints
            .iter()
            .filter_map(|(key, ep)| {
                let e = self.engine.endpoint(key)?;
                Some(EndpointInput {
                    ifindex: ep.ifindex,
                    endpoint_id: ep.record.id,
                    identity: e.identity,
                    policy: &e.policy,
                    host: false,
                })
            })
            .collect();
        inputs.extend(host_firewall::inputs(
            &self.engine,
            &self.node,
            &self.devices,
        ));
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
        self.attach_devices()?;
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

    pub(super) fn publish(&self) {
        let local = self
            .endpoints
            .iter()
            .map(|(k, e)| (k, e.record.id, e.ifindex, e.record.host_ifname.as_str()));
        let (_, cookies) = self.cookies.export();
        let caches = self
            .fqdn
            .caches
            .iter()
            .filter_map(|(pod, cache)| Some((self.endpoints.get(pod)?.record.id, cache)));
        let mut snapshot = Snapshot::build(&self.engine, local, &cookies).with_fqdn(caches);
        if let Some(host) = self.engine.host(&self.node) {
            let devices = self.devices.iter().map(|d| (d.ifindex, d.name.as_str()));
            snapshot = snapshot.with_host(host, HOST_ENDPOINT_ID, devices, self.engine.revision());
        }
        if let Some(staged) = &self.staged {
            let ids = self.endpoints.iter().map(|(k, e)| (k, e.record.id));
            snapshot = snapshot.with_staged(staged.engine(), ids);
        }
        self.snapshot.publish(snapshot);
    }

    pub(super) fn persist(&self) -> Result<()> {
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
