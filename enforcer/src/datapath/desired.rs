//! The desired contents of the datapath's maps, computed from the agent's view of its
//! endpoints (interface, id, identity, resolved policy) and of the ipcache. [`apply`]
//! turns the maps into exactly this.
//!
//! Endpoint values carry revision 0 here: revisions describe changes over time, which only
//! `apply` can see (it bumps an endpoint's revision whenever its entries or flags change).
//!
//! [`apply`]: super::apply::apply

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use probe_common::endpoint::{EndpointInfo, flags};
use probe_common::ipcache::entry_flags::ZOMBIE;
use probe_common::ipcache::{FAMILY_V4, FAMILY_V6, IpCacheEntry, IpCacheKey, WORLD_IDENTITY};
use probe_common::policy::{PolicyEntry, PolicyKey};

use super::cookie::CookieTable;
use super::error::DesiredError;
use super::keys;
use crate::mapstate::EndpointPolicy;
use crate::net::Cidr;
use crate::policy::Direction;

/// One local endpoint as the datapath needs it.
#[derive(Clone, Copy, Debug)]
pub struct EndpointInput<'a> {
    /// Interface index of the endpoint's host-side veth (where the programs run).
    pub ifindex: u32,
    /// Endpoint id (non-zero: 0 means "no endpoint" in events).
    pub endpoint_id: u16,
    /// The endpoint's security identity.
    pub identity: u32,
    /// Its resolved policy, both directions.
    pub policy: &'a EndpointPolicy,
    /// The node's host endpoint on one of its devices (host firewall): the same endpoint
    /// id on every device, its policy entries written once.
    pub host: bool,
}

/// One ipcache prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpCacheInput {
    /// The prefix.
    pub cidr: Cidr,
    /// Security identity of the addresses in it.
    pub identity: u32,
    /// An expired DNS-learned address kept for its open connections: new connections to
    /// it are decided as to the world ([`probe_common::ipcache::entry_flags::ZOMBIE`]).
    pub zombie: bool,
}

/// Map contents, keyed like the maps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesiredState {
    /// `OBS_ENDPOINTS`: ifindex → endpoint (revision 0, see the module doc).
    pub endpoints: BTreeMap<u32, EndpointInfo>,
    /// `OBS_POLICY`: (key, prefix length) → entry.
    pub policy: BTreeMap<(PolicyKey, u32), PolicyEntry>,
    /// `OBS_IPCACHE`: (key, prefix length) → entry.
    pub ipcache: BTreeMap<(IpCacheKey, u32), IpCacheEntry>,
}

impl DesiredState {
    /// Computes the maps' contents for `endpoints` and `ipcache`, interning rule sets in
    /// `cookies`. `0.0.0.0/0` and `::/0` are always present (with the reserved world
    /// identity unless `ipcache` gives them another), so every ipcache lookup finds an
    /// identity.
    pub fn build<'a>(
        endpoints: impl IntoIterator<Item = EndpointInput<'a>>,
        ipcache: impl IntoIterator<Item = IpCacheInput>,
        cookies: &mut CookieTable,
    ) -> Result<Self, DesiredError> {
        let mut state = Self::default();
        let mut ids = BTreeMap::new();
        for ep in endpoints {
            state.add_endpoint(&ep, &mut ids, cookies)?;
        }
        for world in [Cidr::all_of_family(false), Cidr::all_of_family(true)] {
            state
                .ipcache
                .insert(ipcache_key(&world), IpCacheEntry::new(WORLD_IDENTITY));
        }
        for input in ipcache {
            let entry = IpCacheEntry {
                flags: if input.zombie { ZOMBIE } else { 0 },
                ..IpCacheEntry::new(input.identity)
            };
            state.ipcache.insert(ipcache_key(&input.cidr), entry);
        }
        Ok(state)
    }

    fn add_endpoint(
        &mut self,
        ep: &EndpointInput<'_>,
        ids: &mut BTreeMap<u16, u32>,
        cookies: &mut CookieTable,
    ) -> Result<(), DesiredError> {
        if ep.endpoint_id == 0 {
            return Err(DesiredError::ReservedEndpointId {
                ifindex: ep.ifindex,
            });
        }
        if let Some(other) = self.endpoints.get(&ep.ifindex) {
            return Err(DesiredError::DuplicateIfindex {
                ifindex: ep.ifindex,
                endpoint_id: ep.endpoint_id,
                other_endpoint_id: other.endpoint_id,
            });
        }
        if let Some(&other) = ids.get(&ep.endpoint_id) {
            // The host endpoint's further devices share its id and its entries.
            let same_host = ep.host && self.endpoints.get(&other).is_some_and(|o| o.is_host());
            if !same_host {
                return Err(DesiredError::DuplicateEndpointId {
                    endpoint_id: ep.endpoint_id,
                    ifindex: ep.ifindex,
                    other_ifindex: other,
                });
            }
            self.endpoints.insert(ep.ifindex, endpoint_info(ep));
            return Ok(());
        }
        ids.insert(ep.endpoint_id, ep.ifindex);
        self.endpoints.insert(ep.ifindex, endpoint_info(ep));
        for dir in Direction::BOTH {
            let policy = ep.policy.direction(dir);
            keys::add_direction(&mut self.policy, ep.endpoint_id, dir, policy, cookies);
        }
        Ok(())
    }

    /// Every cookie the policy entries use (for [`CookieTable::release_unused`]).
    pub fn cookies(&self) -> BTreeSet<u32> {
        self.policy
            .values()
            .map(|e| e.cookie)
            .filter(|&c| c != 0)
            .collect()
    }
}

fn endpoint_info(ep: &EndpointInput<'_>) -> EndpointInfo {
    let mut f = 0;
    if ep.policy.ingress.enforced {
        f |= flags::INGRESS_ENFORCED;
    }
    if ep.policy.egress.enforced {
        f |= flags::EGRESS_ENFORCED;
    }
    if ep.policy.ingress.audit.is_some() {
        f |= flags::INGRESS_AUDIT;
    }
    if ep.policy.egress.audit.is_some() {
        f |= flags::EGRESS_AUDIT;
    }
    if ep.host {
        f |= flags::HOST;
    }
    EndpointInfo {
        endpoint_id: ep.endpoint_id,
        flags: f,
        pad: 0,
        identity: ep.identity,
        policy_revision: 0,
    }
}

/// The ipcache LPM key (data, prefix length) of `cidr`.
pub fn ipcache_key(cidr: &Cidr) -> (IpCacheKey, u32) {
    let mut addr = [0; 16];
    let family = match cidr.addr() {
        IpAddr::V4(a) => {
            addr[..4].copy_from_slice(&a.octets());
            FAMILY_V4
        }
        IpAddr::V6(a) => {
            addr = a.octets();
            FAMILY_V6
        }
    };
    (
        IpCacheKey {
            family,
            pad: [0; 3],
            addr,
        },
        IpCacheKey::prefix_len(cidr.len()),
    )
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use probe_common::ipcache::PREFIX_BEFORE_ADDR;

    use super::*;
    use crate::mapstate::{DirectionPolicy, EndpointPolicy};

    fn enforced_both() -> EndpointPolicy {
        let enforced = DirectionPolicy {
            enforced: true,
            ..DirectionPolicy::default()
        };
        EndpointPolicy {
            ingress: enforced.clone(),
            egress: enforced,
        }
    }

    #[test]
    fn endpoints_carry_their_enforcement_flags() {
        let both = enforced_both();
        let none = EndpointPolicy::default();
        let eps = [
            EndpointInput {
                ifindex: 10,
                endpoint_id: 1,
                identity: 1000,
                policy: &both,
                host: false,
            },
            EndpointInput {
                ifindex: 11,
                endpoint_id: 2,
                identity: 1001,
                policy: &none,
                host: false,
            },
        ];
        let s = DesiredState::build(eps, [], &mut CookieTable::new()).expect("valid");
        assert_eq!(
            s.endpoints[&10].flags,
            flags::INGRESS_ENFORCED | flags::EGRESS_ENFORCED
        );
        assert_eq!(s.endpoints[&11].flags, 0);
        assert_eq!(s.endpoints[&11].identity, 1001);
    }

    #[test]
    fn world_prefixes_are_always_present_and_overridable() {
        let world4 = IpCacheInput {
            cidr: Cidr::all_of_family(false),
            identity: 9,
            zombie: false,
        };
        let pod = IpCacheInput {
            cidr: Cidr::host(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            identity: 1000,
            zombie: false,
        };
        let s = DesiredState::build([], [world4, pod], &mut CookieTable::new()).expect("valid");
        let by_len: Vec<(u8, u32, u32)> = s
            .ipcache
            .iter()
            .map(|((k, len), e)| (k.family, *len, e.identity))
            .collect();
        assert_eq!(
            by_len,
            vec![
                (FAMILY_V4, PREFIX_BEFORE_ADDR, 9),
                (FAMILY_V4, PREFIX_BEFORE_ADDR + 32, 1000),
                (FAMILY_V6, PREFIX_BEFORE_ADDR, WORLD_IDENTITY),
            ]
        );
        let (key, _) = ipcache_key(&pod.cidr);
        assert_eq!(&key.addr[..4], &[10, 0, 0, 1]);
    }

    #[test]
    fn duplicate_and_reserved_ids_are_rejected() {
        let p = EndpointPolicy::default();
        let dup_id = [
            EndpointInput {
                ifindex: 10,
                endpoint_id: 1,
                identity: 1,
                policy: &p,
                host: false,
            },
            EndpointInput {
                ifindex: 11,
                endpoint_id: 1,
                identity: 1,
                policy: &p,
                host: false,
            },
        ];
        assert!(matches!(
            DesiredState::build(dup_id, [], &mut CookieTable::new()),
            Err(DesiredError::DuplicateEndpointId { endpoint_id: 1, .. })
        ));
        let dup_if = [
            EndpointInput {
                ifindex: 10,
                endpoint_id: 1,
                identity: 1,
                policy: &p,
                host: false,
            },
            EndpointInput {
                ifindex: 10,
                endpoint_id: 2,
                identity: 1,
                policy: &p,
                host: false,
            },
        ];
        assert!(matches!(
            DesiredState::build(dup_if, [], &mut CookieTable::new()),
            Err(DesiredError::DuplicateIfindex { ifindex: 10, .. })
        ));
        let zero = [EndpointInput {
            ifindex: 10,
            endpoint_id: 0,
            identity: 1,
            policy: &p,
            host: false,
        }];
        assert!(matches!(
            DesiredState::build(zero, [], &mut CookieTable::new()),
            Err(DesiredError::ReservedEndpointId { ifindex: 10 })
        ));
    }

    #[test]
    fn the_host_endpoint_shares_its_id_and_entries_across_devices() {
        let p = enforced_both();
        let host = |ifindex| EndpointInput {
            ifindex,
            endpoint_id: 9,
            identity: 1,
            policy: &p,
            host: true,
        };
        let one = DesiredState::build([host(2)], [], &mut CookieTable::new()).expect("one");
        let two = DesiredState::build([host(2), host(3)], [], &mut CookieTable::new())
            .expect("two devices");
        assert_eq!(two.endpoints.len(), 2);
        assert!(
            two.endpoints
                .values()
                .all(|e| e.is_host() && e.endpoint_id == 9)
        );
        assert_eq!(one.policy, two.policy);
        let pod = EndpointInput {
            ifindex: 4,
            host: false,
            ..host(4)
        };
        assert!(matches!(
            DesiredState::build([host(2), pod], [], &mut CookieTable::new()),
            Err(DesiredError::DuplicateEndpointId { endpoint_id: 9, .. })
        ));
    }
}
