//! Reconciliation: make the maps hold exactly a [`DesiredState`], in an order that never
//! opens a window the final state would not have.
//!
//! The order, and why:
//!
//! 1. ipcache inserts/updates: new identities exist before policy refers to them;
//! 2. endpoints losing an enforcement flag get it cleared (nothing else changes yet), so
//!    removing their entries in step 5 cannot cause transient default-deny drops;
//! 3. policy inserts/updates: every allow of the final state is in place before anything
//!    is removed and before enforcement is switched on (step 6);
//! 4. endpoints that went away are removed (their packets drop with 203 from now on, not
//!    with misleading policy drops while their entries go);
//! 5. policy removals;
//! 6. endpoint inserts/updates with their final flags, and a bumped `policy_revision` for
//!    every endpoint whose entries or info changed. Only now, when the endpoint's entries
//!    are final, do established connections get re-decided: a revision bumped earlier could
//!    re-admit a flow against an allow entry that step 5 was about to remove;
//! 7. ipcache removals, once nothing refers to the identities any more.
//!
//! Between steps the datapath sees a mix of old and new entries for an endpoint whose policy
//! changes (a new deny next to an old allow, say): never an entry neither state has. A
//! failure stops the run and leaves such a mix; the next `apply` converges, as every step
//! is a diff against what the maps hold.

use std::collections::{BTreeMap, BTreeSet};

use probe_common::endpoint::EndpointInfo;

use super::desired::DesiredState;
use super::error::MapError;
use super::maps::{EndpointMapOps, IpCacheOps, MapOps, PolicyMapOps};

/// Writes to one map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// New keys.
    pub inserted: usize,
    /// Existing keys with a new value.
    pub updated: usize,
    /// Keys removed.
    pub removed: usize,
}

/// What an [`apply`] changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// `OBS_POLICY` writes.
    pub policy: Counts,
    /// `OBS_ENDPOINTS` writes (the relaxing writes of step 2 not counted).
    pub endpoints: Counts,
    /// `OBS_IPCACHE` writes.
    pub ipcache: Counts,
    /// Endpoints whose policy revision was bumped (existing connections get re-decided).
    pub revised: Vec<u16>,
    /// Endpoints removed (their conntrack entries are now stale).
    pub removed_endpoints: Vec<u16>,
}

/// Makes `policy`, `endpoints` and `ipcache` hold `desired` (see the module doc).
pub fn apply<P, E, I>(
    desired: &DesiredState,
    policy: &mut P,
    endpoints: &mut E,
    ipcache: &mut I,
) -> Result<ApplyReport, MapError>
where
    P: PolicyMapOps,
    E: EndpointMapOps,
    I: IpCacheOps,
{
    let mut report = ApplyReport::default();
    let current_endpoints = endpoints.entries()?;
    let policy_diff = Diff::new(&policy.entries()?, &desired.policy);
    let ipcache_diff = Diff::new(&ipcache.entries()?, &desired.ipcache);
    let changed: BTreeSet<u16> = policy_diff
        .touched_keys()
        .map(|(key, _)| key.endpoint_id)
        .collect();
    let final_endpoints = plan_endpoints(&current_endpoints, &desired.endpoints, &changed);
    let endpoint_diff = Diff::new(&current_endpoints, &final_endpoints);

    report.ipcache = ipcache_diff.upsert(ipcache)?;
    relax_enforcement(&current_endpoints, &desired.endpoints, endpoints)?;
    report.policy = policy_diff.upsert(policy)?;
    report.endpoints.removed = endpoint_diff.remove(endpoints)?;
    report.policy.removed = policy_diff.remove(policy)?;
    let endpoint_counts = endpoint_diff.upsert(endpoints)?;
    report.endpoints.inserted = endpoint_counts.inserted;
    report.endpoints.updated = endpoint_counts.updated;
    report.ipcache.removed = ipcache_diff.remove(ipcache)?;

    report.revised = endpoint_diff
        .upserts
        .iter()
        .filter(|(ifindex, info)| {
            current_endpoints
                .get(ifindex)
                .is_some_and(|cur| cur.policy_revision != info.policy_revision)
        })
        .map(|(_, info)| info.endpoint_id)
        .collect();
    let kept: BTreeSet<u16> = final_endpoints.values().map(|e| e.endpoint_id).collect();
    report.removed_endpoints = endpoint_diff
        .removals
        .iter()
        .filter_map(|ifindex| current_endpoints.get(ifindex))
        .map(|e| e.endpoint_id)
        .filter(|id| !kept.contains(id))
        .collect();
    Ok(report)
}

/// The endpoint values to end with: the desired ones, with revisions carried over from the
/// maps and bumped where the endpoint's entries (`changed`) or its info changed. A new
/// endpoint starts at revision 1.
fn plan_endpoints(
    current: &BTreeMap<u32, EndpointInfo>,
    desired: &BTreeMap<u32, EndpointInfo>,
    changed: &BTreeSet<u16>,
) -> BTreeMap<u32, EndpointInfo> {
    desired
        .iter()
        .map(|(&ifindex, want)| {
            let policy_revision = match current.get(&ifindex) {
                None => 1,
                Some(cur) if changed.contains(&want.endpoint_id) || !same_info(cur, want) => {
                    cur.policy_revision.wrapping_add(1)
                }
                Some(cur) => cur.policy_revision,
            };
            (
                ifindex,
                EndpointInfo {
                    policy_revision,
                    ..*want
                },
            )
        })
        .collect()
}

/// Equal apart from the revision.
fn same_info(a: &EndpointInfo, b: &EndpointInfo) -> bool {
    EndpointInfo {
        policy_revision: 0,
        ..*a
    } == EndpointInfo {
        policy_revision: 0,
        ..*b
    }
}

/// Step 2: clears the enforcement flags that the desired state drops, before any entry
/// goes, keeping everything else (revision included) as it is.
fn relax_enforcement<E: EndpointMapOps>(
    current: &BTreeMap<u32, EndpointInfo>,
    desired: &BTreeMap<u32, EndpointInfo>,
    endpoints: &mut E,
) -> Result<(), MapError> {
    for (ifindex, cur) in current {
        let Some(want) = desired.get(ifindex) else {
            continue;
        };
        let flags = cur.flags & want.flags;
        if flags != cur.flags {
            endpoints.insert(ifindex, &EndpointInfo { flags, ..*cur })?;
        }
    }
    Ok(())
}

/// The writes that turn one map's contents into another's.
struct Diff<K, V> {
    /// Keys to write, with their new values (new keys and changed values).
    upserts: Vec<(K, V)>,
    /// How many of `upserts` are new keys.
    new_keys: usize,
    /// Keys to remove.
    removals: Vec<K>,
}

impl<K: Ord + Copy, V: Eq + Copy> Diff<K, V> {
    fn new(current: &BTreeMap<K, V>, desired: &BTreeMap<K, V>) -> Self {
        let mut upserts = Vec::new();
        let mut new_keys = 0;
        for (key, value) in desired {
            match current.get(key) {
                Some(cur) if cur == value => {}
                Some(_) => upserts.push((*key, *value)),
                None => {
                    new_keys += 1;
                    upserts.push((*key, *value));
                }
            }
        }
        let removals = current
            .keys()
            .filter(|k| !desired.contains_key(k))
            .copied()
            .collect();
        Self {
            upserts,
            new_keys,
            removals,
        }
    }

    /// Every key written or removed.
    fn touched_keys(&self) -> impl Iterator<Item = &K> {
        self.upserts.iter().map(|(k, _)| k).chain(&self.removals)
    }

    fn upsert<M: MapOps<Key = K, Value = V>>(&self, map: &mut M) -> Result<Counts, MapError> {
        for (key, value) in &self.upserts {
            map.insert(key, value)?;
        }
        Ok(Counts {
            inserted: self.new_keys,
            updated: self.upserts.len() - self.new_keys,
            removed: 0,
        })
    }

    fn remove<M: MapOps<Key = K, Value = V>>(&self, map: &mut M) -> Result<usize, MapError> {
        for key in &self.removals {
            map.remove(key)?;
        }
        Ok(self.removals.len())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use lab::prng::Rng;
    use probe_common::endpoint::flags;
    use probe_common::ipcache::FAMILY_V4;
    use probe_common::maps as names;
    use probe_common::policy::{PREFIX_FULL, PolicyEntry, PolicyKey};

    use super::*;
    use crate::datapath::cookie::CookieTable;
    use crate::datapath::desired::{EndpointInput, IpCacheInput};
    use crate::datapath::memory::{
        Journal, MemoryEndpointMap, MemoryIpCache, MemoryPolicyMap, Write,
    };
    use crate::datapath::model;
    use crate::mapstate::resolve::{RawEntry, resolve};
    use crate::mapstate::testing::rule;
    use crate::mapstate::{Action, DirectionPolicy, EndpointPolicy, L7Kind, PortRange};
    use crate::net::Cidr;
    use crate::policy::Direction;

    /// The three in-memory maps, sharing one journal.
    struct Maps {
        policy: MemoryPolicyMap,
        endpoints: MemoryEndpointMap,
        ipcache: MemoryIpCache,
        journal: Journal,
    }

    impl Maps {
        fn new() -> Self {
            let journal = Journal::default();
            Self {
                policy: MemoryPolicyMap::policy().with_journal(journal.clone()),
                endpoints: MemoryEndpointMap::endpoints().with_journal(journal.clone()),
                ipcache: MemoryIpCache::ipcache().with_journal(journal.clone()),
                journal,
            }
        }

        fn apply(&mut self, desired: &DesiredState) -> ApplyReport {
            apply(
                desired,
                &mut self.policy,
                &mut self.endpoints,
                &mut self.ipcache,
            )
            .expect("in-memory maps accept")
        }

        fn take_journal(&self) -> Vec<Write> {
            std::mem::take(&mut *self.journal.lock().expect("not poisoned"))
        }
    }

    fn direction(entries: &[(u32, u8, PortRange, Action)]) -> DirectionPolicy {
        let raw: Vec<RawEntry> = entries
            .iter()
            .enumerate()
            .map(|(i, &(identity, protocol, ports, action))| RawEntry {
                identity,
                protocol,
                ports,
                action,
                rule: rule(&format!("r{i}")),
                l7: L7Kind::None,
            })
            .collect();
        DirectionPolicy {
            enforced: true,
            selecting: vec![],
            state: resolve(&raw),
            audit: None,
        }
    }

    fn desired(
        endpoints: &[(u32, u16, &EndpointPolicy)],
        cookies: &mut CookieTable,
    ) -> DesiredState {
        let inputs = endpoints
            .iter()
            .map(|&(ifindex, endpoint_id, policy)| EndpointInput {
                ifindex,
                endpoint_id,
                identity: 1000 + u32::from(endpoint_id),
                policy,
                host: false,
            });
        let pod = IpCacheInput {
            cidr: Cidr::host(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            identity: 1001,
            zombie: false,
        };
        DesiredState::build(inputs, [pod], cookies).expect("valid")
    }

    fn position(log: &[Write], map: &str, op: &str) -> Vec<usize> {
        log.iter()
            .enumerate()
            .filter(|(_, w)| w.map == map && w.op == op)
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn first_apply_inserts_everything_and_a_second_writes_nothing() {
        let web = EndpointPolicy {
            ingress: direction(&[(2000, 6, PortRange::single(80), Action::Allow)]),
            egress: DirectionPolicy::default(),
        };
        let mut cookies = CookieTable::new();
        let want = desired(&[(10, 1, &web)], &mut cookies);
        let mut maps = Maps::new();
        let report = maps.apply(&want);
        assert_eq!(
            report.policy,
            Counts {
                inserted: 1,
                updated: 0,
                removed: 0
            }
        );
        assert_eq!(report.endpoints.inserted, 1);
        assert_eq!(report.ipcache.inserted, 3); // the pod and both world prefixes
        assert_eq!(maps.endpoints.contents()[&10].policy_revision, 1);
        assert_eq!(
            maps.endpoints.contents()[&10].flags,
            flags::INGRESS_ENFORCED
        );
        maps.take_journal();
        assert_eq!(maps.apply(&want), ApplyReport::default());
        assert!(
            maps.take_journal().is_empty(),
            "an applied state is a fixed point"
        );
    }

    #[test]
    fn enforcement_is_switched_on_only_after_the_entries_exist() {
        let mut maps = Maps::new();
        let mut cookies = CookieTable::new();
        maps.apply(&desired(
            &[(10, 1, &EndpointPolicy::default())],
            &mut cookies,
        ));
        maps.take_journal();
        let web = EndpointPolicy {
            ingress: direction(&[(2000, 6, PortRange::single(80), Action::Allow)]),
            egress: DirectionPolicy::default(),
        };
        maps.apply(&desired(&[(10, 1, &web)], &mut cookies));
        let log = maps.take_journal();
        let policy_inserts = position(&log, names::POLICY, "insert");
        let endpoint_writes = position(&log, names::ENDPOINTS, "insert");
        assert_eq!(endpoint_writes.len(), 1);
        assert!(
            policy_inserts.iter().all(|&p| p < endpoint_writes[0]),
            "{log:?}"
        );
    }

    #[test]
    fn a_narrowed_policy_bumps_the_revision_after_the_old_allow_is_gone() {
        let mut maps = Maps::new();
        let mut cookies = CookieTable::new();
        let wide = EndpointPolicy {
            ingress: direction(&[(2000, 6, PortRange::new(80, 81), Action::Allow)]),
            egress: DirectionPolicy::default(),
        };
        let other = EndpointPolicy {
            ingress: direction(&[(2000, 6, PortRange::single(22), Action::Allow)]),
            egress: DirectionPolicy::default(),
        };
        maps.apply(&desired(&[(10, 1, &wide), (11, 2, &other)], &mut cookies));
        maps.take_journal();
        let narrow = EndpointPolicy {
            ingress: direction(&[(2000, 6, PortRange::single(80), Action::Allow)]),
            egress: DirectionPolicy::default(),
        };
        let report = maps.apply(&desired(&[(10, 1, &narrow), (11, 2, &other)], &mut cookies));
        let log = maps.take_journal();
        assert_eq!(
            report.revised,
            vec![1],
            "only the changed endpoint is re-decided"
        );
        assert_eq!(maps.endpoints.contents()[&10].policy_revision, 2);
        assert_eq!(maps.endpoints.contents()[&11].policy_revision, 1);
        let removals = position(&log, names::POLICY, "remove");
        let bump = position(&log, names::ENDPOINTS, "insert");
        assert!(
            !removals.is_empty() && removals.iter().all(|&r| r < bump[0]),
            "{log:?}"
        );
    }

    #[test]
    fn enforcement_is_relaxed_before_entries_are_removed() {
        let mut maps = Maps::new();
        let mut cookies = CookieTable::new();
        let web = EndpointPolicy {
            ingress: direction(&[(2000, 6, PortRange::single(80), Action::Allow)]),
            egress: DirectionPolicy::default(),
        };
        maps.apply(&desired(&[(10, 1, &web)], &mut cookies));
        maps.take_journal();
        maps.apply(&desired(
            &[(10, 1, &EndpointPolicy::default())],
            &mut cookies,
        ));
        let log = maps.take_journal();
        let endpoint_writes = position(&log, names::ENDPOINTS, "insert");
        let removals = position(&log, names::POLICY, "remove");
        assert!(endpoint_writes[0] < removals[0], "{log:?}");
        assert_eq!(maps.endpoints.contents()[&10].flags, 0);
        assert!(maps.policy.contents().is_empty());
    }

    #[test]
    fn removed_endpoints_go_before_their_entries_and_are_reported() {
        let mut maps = Maps::new();
        let mut cookies = CookieTable::new();
        let web = EndpointPolicy {
            ingress: direction(&[(2000, 6, PortRange::single(80), Action::Allow)]),
            egress: DirectionPolicy::default(),
        };
        maps.apply(&desired(&[(10, 1, &web), (11, 2, &web)], &mut cookies));
        maps.take_journal();
        let report = maps.apply(&desired(&[(11, 2, &web)], &mut cookies));
        let log = maps.take_journal();
        assert_eq!(report.removed_endpoints, vec![1]);
        assert_eq!(report.endpoints.removed, 1);
        let endpoint_removal = position(&log, names::ENDPOINTS, "remove");
        let policy_removals = position(&log, names::POLICY, "remove");
        assert!(
            policy_removals.iter().all(|&p| p > endpoint_removal[0]),
            "{log:?}"
        );
        assert!(
            maps.policy
                .contents()
                .keys()
                .all(|(k, _)| k.endpoint_id == 2)
        );
    }

    #[test]
    fn stale_entries_from_an_earlier_run_are_reconciled() {
        let mut maps = Maps::new();
        let stale_key = (
            PolicyKey::new(9, Direction::Egress.as_wire(), 5, 17, 53),
            PREFIX_FULL,
        );
        maps.policy
            .insert(&stale_key, &PolicyEntry::default())
            .expect("room");
        let stale_ep = EndpointInfo {
            endpoint_id: 9,
            flags: flags::EGRESS_ENFORCED,
            pad: 0,
            identity: 5,
            policy_revision: 7,
        };
        maps.endpoints.insert(&99, &stale_ep).expect("room");
        let mut cookies = CookieTable::new();
        let report = maps.apply(&desired(
            &[(10, 1, &EndpointPolicy::default())],
            &mut cookies,
        ));
        assert_eq!(report.policy.removed, 1);
        assert_eq!(report.removed_endpoints, vec![9]);
        assert!(!maps.endpoints.contents().contains_key(&99));
        assert!(maps.policy.contents().is_empty());
    }

    #[test]
    fn a_failed_write_names_the_map_and_the_next_apply_converges() {
        let mut maps = Maps::new();
        let mut cookies = CookieTable::new();
        let web = EndpointPolicy {
            ingress: direction(&[(2000, 6, PortRange::single(80), Action::Allow)]),
            egress: DirectionPolicy::default(),
        };
        let want = desired(&[(10, 1, &web)], &mut cookies);
        maps.policy.fail_writes(true);
        let err = apply(
            &want,
            &mut maps.policy,
            &mut maps.endpoints,
            &mut maps.ipcache,
        )
        .expect_err("injected");
        assert!(
            err.to_string().starts_with("map OBS_POLICY: cannot insert"),
            "{err}"
        );
        assert!(
            maps.endpoints.contents().is_empty(),
            "enforcement not switched on without its entries"
        );
        maps.policy.fail_writes(false);
        maps.apply(&want);
        assert_eq!(maps.policy.contents(), &want.policy);
    }

    const IDENTITIES: [u32; 4] = [0, 1000, 1001, 16_777_217];
    const PROTOCOLS: [u8; 5] = [0, 6, 17, 1, 132];
    const PORT_EDGES: [u16; 9] = [0, 1, 53, 79, 80, 443, 8080, 8090, 65535];

    fn random_ports(rng: &mut Rng) -> PortRange {
        match rng.below(4) {
            0 => PortRange::ALL,
            1 => PortRange::single(rng.pick(&PORT_EDGES)),
            2 => {
                let lo = rng.pick(&PORT_EDGES);
                PortRange::new(lo, lo.saturating_add(rng.below(2000) as u16))
            }
            _ => {
                let lo = rng.below(65536) as u16;
                PortRange::new(lo, lo.saturating_add(rng.below(300) as u16))
            }
        }
    }

    /// A random direction, a third of them with policies in audit mode.
    fn random_direction(rng: &mut Rng) -> DirectionPolicy {
        let mut policy = random_resolved(rng);
        if rng.below(3) == 0 {
            let audit = random_resolved(rng);
            policy.audit = Some(Box::new(DirectionPolicy {
                enforced: true,
                ..audit
            }));
        }
        policy
    }

    fn random_resolved(rng: &mut Rng) -> DirectionPolicy {
        let raw: Vec<RawEntry> = (0..rng.below(12))
            .map(|i| {
                let protocol = rng.pick(&PROTOCOLS);
                RawEntry {
                    identity: rng.pick(&IDENTITIES),
                    protocol,
                    ports: if protocol == 0 {
                        PortRange::ALL
                    } else {
                        random_ports(rng)
                    },
                    action: if rng.below(4) == 0 {
                        Action::Deny
                    } else {
                        Action::Allow
                    },
                    rule: rule(&format!("r{}", i % 5)),
                    l7: L7Kind::None,
                }
            })
            .collect();
        DirectionPolicy {
            enforced: rng.below(5) != 0,
            selecting: vec![],
            state: resolve(&raw),
            audit: None,
        }
    }

    fn random_port(rng: &mut Rng) -> u16 {
        let edge = rng.pick(&PORT_EDGES);
        match rng.below(3) {
            0 => edge,
            1 => edge.wrapping_add(rng.below(3) as u16).wrapping_sub(1),
            _ => rng.below(65536) as u16,
        }
    }

    /// The datapath, modelled over the maps `apply` wrote, decides every flow exactly like
    /// the engine's `DirectionPolicy::decide`: verdict, drop reason, match type, and the
    /// rules behind the cookie. Each round applies a new random state over the previous one,
    /// so incremental updates are covered too.
    #[test]
    fn installed_maps_decide_like_the_engine() {
        let mut rng = Rng::seeded(0x5eed_1234_abcd_0001);
        let mut maps = Maps::new();
        let mut cookies = CookieTable::new();
        let mut seen = BTreeSet::new();
        for round in 0..300 {
            let policies: Vec<EndpointPolicy> = (0..3)
                .map(|_| EndpointPolicy {
                    ingress: random_direction(&mut rng),
                    egress: random_direction(&mut rng),
                })
                .collect();
            let endpoints: Vec<(u32, u16, &EndpointPolicy)> = policies
                .iter()
                .enumerate()
                .map(|(i, p)| (10 + i as u32, 1 + i as u16, p))
                .collect();
            let want = desired(&endpoints, &mut cookies);
            maps.apply(&want);
            maps.take_journal();
            cookies.release_unused(&want.cookies());
            assert_eq!(maps.policy.contents(), &want.policy, "round {round}");
            for _ in 0..200 {
                let (ifindex, endpoint_id, policy) = endpoints[rng.below(3)];
                let dir = if rng.below(2) == 0 {
                    Direction::Ingress
                } else {
                    Direction::Egress
                };
                let engine_policy = policy.direction(dir);
                let (peer, protocol, port) = (
                    rng.pick(&IDENTITIES[1..]),
                    rng.pick(&PROTOCOLS[1..]),
                    random_port(&mut rng),
                );
                let ep = maps.endpoints.contents()[&ifindex];
                assert_eq!(ep.endpoint_id, endpoint_id);
                let kernel = model::decide(maps.policy.contents(), &ep, dir, peer, protocol, port);
                let (decided, audit) = engine_policy.decide_audited(peer, protocol, port);
                let engine = audit.unwrap_or(decided);
                let what = format!(
                    "round {round}: ep {endpoint_id} dir {dir} peer {peer} proto {protocol} port {port}: {kernel:?} vs {engine:?}"
                );
                assert_eq!(kernel.audited, audit.is_some(), "{what}");
                assert_eq!(
                    kernel.allowed,
                    engine.verdict.is_allowed() || kernel.audited,
                    "{what}"
                );
                assert_eq!(
                    kernel.reason,
                    engine.verdict.drop_reason().unwrap_or(0),
                    "{what}"
                );
                assert_eq!(kernel.match_type, engine.match_type, "{what}");
                let engine_rules = engine.entry.map(|(_, v)| &v.rules);
                assert_eq!(cookies.rules(kernel.cookie), engine_rules, "{what}");
                seen.insert((kernel.audited, kernel.reason, kernel.match_type));
            }
        }
        // The random states exercise every outcome: allowed by each match type, default
        // deny and explicit deny, enforced and audited.
        assert!(seen.len() >= 14, "too little variety: {seen:?}");
    }

    #[test]
    fn the_model_sees_world_for_unknown_addresses() {
        let mut maps = Maps::new();
        maps.apply(&desired(&[], &mut CookieTable::new()));
        let addr = |a: [u8; 4]| {
            let mut out = [0; 16];
            out[..4].copy_from_slice(&a);
            out
        };
        assert_eq!(
            model::identity_of(maps.ipcache.contents(), FAMILY_V4, addr([10, 0, 0, 1])),
            1001
        );
        assert_eq!(
            model::identity_of(maps.ipcache.contents(), FAMILY_V4, addr([192, 0, 2, 1])),
            probe_common::ipcache::WORLD_IDENTITY
        );
    }
}
