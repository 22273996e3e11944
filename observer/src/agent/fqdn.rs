//! The agent's FQDN state: each local endpoint's DNS cache (what the DNS proxy learned
//! for it), the names the engine's `toFQDNs` selectors see (the union of the caches), the
//! DNS proxy's port, and their persistence in `fqdn.json` in the state directory, read
//! back before the first sync so a restarted agent enforces what it had learned (and the
//! datapath keeps steering to the same proxy port).
//!
//! A new answer only changes the maps when it carries an address no cache held: then the
//! engine re-selects and the datapath gets the ipcache entries (the proxy holds the answer
//! until then). Expiry runs periodically ([`Agent::collect_fqdn`]): an expired address
//! with an open connection in conntrack stays as a zombie until the connection ends.
//! The file is written by that periodic tick and at shutdown, never while an answer waits.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use enforcer::cluster::PodKey;
use enforcer::fqdn::{CacheConfig, DnsCache, Past};
use probe_common::direction;
use serde::{Deserialize, Serialize};

use super::Agent;
use super::clock::monotonic_ns;

/// What survives a restart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FqdnState {
    /// The DNS proxy's port (0: not chosen yet).
    pub proxy_port: u16,
    /// Each endpoint's cache.
    pub caches: Vec<(PodKey, DnsCache)>,
}

/// The caches, their settings and their file.
pub struct Fqdn {
    /// Per local endpoint.
    pub caches: BTreeMap<PodKey, DnsCache>,
    /// The `tofqdns-*` settings.
    pub config: CacheConfig,
    /// The DNS proxy's port.
    pub proxy_port: u16,
    /// Changed since the last save.
    dirty: bool,
    path: PathBuf,
}

impl Fqdn {
    /// The state saved in `dir`, or an empty one.
    pub fn load(dir: &Path, config: CacheConfig) -> Result<Self> {
        let path = dir.join("fqdn.json");
        let state: FqdnState = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("cannot read {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FqdnState::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(Self {
            caches: state.caches.into_iter().collect(),
            config,
            proxy_port: state.proxy_port,
            dirty: false,
            path,
        })
    }

    /// Saves the state if it changed since the last save (the expiry tick calls this
    /// every second, so an answer never waits for the disk; a crash loses at most the
    /// last second of learning, which the pods' next lookups bring back).
    pub fn save_if_changed(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        self.save()?;
        self.dirty = false;
        Ok(())
    }

    /// Saves the state atomically.
    pub fn save(&self) -> Result<()> {
        let state = FqdnState {
            proxy_port: self.proxy_port,
            caches: self
                .caches
                .iter()
                .map(|(k, c)| (k.clone(), c.clone()))
                .collect(),
        };
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(&state).context("cannot encode the FQDN state")?;
        std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path)
            .with_context(|| format!("cannot replace {}", self.path.display()))
    }

    /// Every name → address the caches hold: what `toFQDNs` selectors select.
    pub fn names(&self) -> BTreeMap<String, BTreeSet<IpAddr>> {
        let mut names: BTreeMap<String, BTreeSet<IpAddr>> = BTreeMap::new();
        for cache in self.caches.values() {
            for (name, ip, _) in cache.entries() {
                names.entry(name.to_string()).or_default().insert(ip);
            }
        }
        names
    }

    /// Addresses every cache holds only as zombies (expired, with a connection open):
    /// the datapath decides new connections to them as to the world.
    pub fn zombies(&self) -> BTreeSet<IpAddr> {
        let mut live = BTreeSet::new();
        let mut zombies = BTreeSet::new();
        for (_, ip, held) in self.caches.values().flat_map(DnsCache::entries) {
            if held.zombie {
                zombies.insert(ip);
            } else {
                live.insert(ip);
            }
        }
        &zombies - &live
    }

    /// Why `pod`'s cache no longer holds `ip`, if it once did.
    pub fn departed(&self, pod: &PodKey, ip: IpAddr) -> Option<&Past> {
        self.caches.get(pod)?.departed(ip)
    }
}

impl Agent {
    /// The local endpoint that owns `ip`.
    pub fn pod_at(&self, ip: IpAddr) -> Option<(&PodKey, u16)> {
        self.endpoints
            .iter()
            .find(|(_, e)| e.record.ips.contains(&ip))
            .map(|(k, e)| (k, e.record.id))
    }

    /// The FQDN state.
    pub fn fqdn(&self) -> &Fqdn {
        &self.fqdn
    }

    /// Records an answer the DNS proxy relayed to the endpoint at `client`: each of
    /// `names` (the asked name and its CNAME chain) → `answers` (address, TTL). When it
    /// brings a new address, the engine re-selects and the maps are written before this
    /// returns. Returns whether the maps changed.
    pub fn learn_answer(
        &mut self,
        client: IpAddr,
        names: &[String],
        answers: &[(IpAddr, Duration)],
        now: SystemTime,
    ) -> Result<bool> {
        let Some((pod, _)) = self.pod_at(client) else {
            return Ok(false);
        };
        let pod = pod.clone();
        let config = self.fqdn.config;
        let cache = self.fqdn.caches.entry(pod).or_default();
        let mut changed = false;
        for name in names {
            let learnt = cache.learn(&config, name, answers, now);
            changed |= !learnt.new.is_empty() || !learnt.evicted.is_empty();
        }
        self.fqdn.dirty = true;
        if !changed {
            return Ok(false);
        }
        self.select_learned()?;
        Ok(true)
    }

    /// Expires what is due; returns how many addresses left every cache. An address that
    /// just became a zombie is written to the ipcache with its flag.
    pub fn collect_fqdn(&mut self, now: SystemTime) -> Result<usize> {
        let zombies = self.fqdn.zombies();
        let open = self.open_connections();
        let config = self.fqdn.config;
        let ids: BTreeMap<PodKey, u16> = self
            .endpoints
            .iter()
            .map(|(k, e)| (k.clone(), e.record.id))
            .collect();
        let mut released = 0;
        for (pod, cache) in &mut self.fqdn.caches {
            let id = ids.get(pod).copied();
            // A connection opened while the address was live earns it the idle grace.
            for &(_, ip) in open.iter().filter(|(e, _)| Some(*e) == id) {
                cache.mark_used(ip, now);
            }
            let connected = |ip: IpAddr| id.is_some_and(|id| open.contains(&(id, ip)));
            released += cache.collect(&config, now, connected).len();
        }
        // Caches of endpoints that are gone go with them.
        let before = self.fqdn.caches.len();
        self.fqdn.caches.retain(|pod, _| ids.contains_key(pod));
        self.fqdn.dirty |= self.fqdn.caches.len() != before;
        if released > 0 {
            self.select_learned()?;
        } else if self.fqdn.zombies() != zombies {
            self.sync()?;
            self.fqdn.dirty = true;
        }
        self.fqdn.save_if_changed()?;
        Ok(released)
    }

    /// (endpoint id, destination) of every live egress connection in conntrack.
    fn open_connections(&mut self) -> BTreeSet<(u16, IpAddr)> {
        let now = monotonic_ns();
        let Ok(entries) = self.datapath.conntrack_map().entries() else {
            return BTreeSet::new();
        };
        entries
            .into_iter()
            .filter(|(k, e)| k.direction == direction::EGRESS && e.expires_ns >= now)
            .map(|(k, _)| (k.endpoint_id, ct_addr(k.family, k.daddr)))
            .collect()
    }

    /// Saves the FQDN state if it changed (at shutdown: nothing learned is lost).
    pub fn save_fqdn(&mut self) -> Result<()> {
        self.fqdn.save_if_changed()
    }

    /// Hands the caches' names to the engine and writes what changed to the maps.
    pub(super) fn select_learned(&mut self) -> Result<()> {
        let changes = self.engine.set_dns_names(self.fqdn.names());
        if !changes.is_empty() {
            self.sync()?;
        }
        self.fqdn.dirty = true;
        Ok(())
    }
}

/// A conntrack key's address.
fn ct_addr(family: u8, addr: [u8; 16]) -> IpAddr {
    if family == probe_common::ipcache::FAMILY_V4 {
        IpAddr::from([addr[0], addr[1], addr[2], addr[3]])
    } else {
        IpAddr::from(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_round_trips_through_its_file_and_names_are_the_caches_union() {
        let dir = std::env::temp_dir().join(format!("obs-fqdn-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = CacheConfig::default();
        let mut fqdn = Fqdn::load(&dir, config).unwrap();
        assert_eq!(fqdn.proxy_port, 0, "nothing saved yet");
        let now = SystemTime::now();
        let ttl = Duration::from_secs(60);
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        for (pod, addr) in [("web", "203.0.113.10"), ("api", "203.0.113.11")] {
            fqdn.caches
                .entry(PodKey::new("shop", pod))
                .or_default()
                .learn(&config, "api.partner.com", &[(ip(addr), ttl)], now);
        }
        fqdn.proxy_port = 40053;
        fqdn.save().unwrap();
        let back = Fqdn::load(&dir, config).unwrap();
        assert_eq!(back.proxy_port, 40053);
        let names = back.names();
        assert_eq!(
            names["api.partner.com."],
            [ip("203.0.113.10"), ip("203.0.113.11")].into()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
