//! The map-state data types.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::PortRange;
use crate::policy::Direction;
use crate::policy::origin::{PolicyRef, RuleRef};

/// Rules that produced an entry, sorted and deduplicated.
pub type RuleSet = Arc<[RuleRef]>;

/// Key of a map-state entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MapKey {
    /// Peer identity; 0 means any peer.
    pub identity: u32,
    /// IP protocol number; 0 means any protocol (then `ports` is [`PortRange::ALL`]).
    pub protocol: u8,
    /// Destination ports, or ICMP types for ICMP (1) and ICMPv6 (58).
    pub ports: PortRange,
}

/// Allow or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Traffic is allowed.
    Allow,
    /// Traffic is denied by a deny rule (drop reason 181).
    Deny,
}

/// Which L7 proxy an entry's traffic goes through. Ordered so that where rules of both
/// kinds cover a port, the merged entry takes the greater (DNS).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum L7Kind {
    /// None: L3/L4 only.
    #[default]
    None,
    /// An HTTP rule applies: the datapath steers the connection to the HTTP proxy.
    Http,
    /// A DNS rule applies: the datapath steers the connection to the DNS proxy.
    Dns,
}

/// Value of a map-state entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MapValue {
    /// Allow or deny.
    pub action: Action,
    /// The rules that produced the entry.
    pub rules: RuleSet,
    /// The L7 rule kind that applies to this entry.
    pub l7: L7Kind,
}

/// One direction's resolved entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MapState {
    /// The entries.
    pub entries: BTreeMap<MapKey, MapValue>,
}

/// An endpoint's policy in one direction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectionPolicy {
    /// Whether policy is enforced: if not, everything passes and `state` is empty.
    pub enforced: bool,
    /// Policies with at least one rule that selects the endpoint in this direction (what a
    /// default-deny drop is attributed to).
    pub selecting: Vec<Arc<PolicyRef>>,
    /// The resolved entries.
    pub state: MapState,
    /// Audit mode: when policies in audit mode select the endpoint in this direction, the
    /// policy with them too (and without an `audit` of its own). The fields above are
    /// the policy of the enforced policies alone.
    pub audit: Option<Box<DirectionPolicy>>,
}

/// An endpoint's policy in both directions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointPolicy {
    /// Traffic to the endpoint.
    pub ingress: DirectionPolicy,
    /// Traffic from the endpoint.
    pub egress: DirectionPolicy,
}

impl EndpointPolicy {
    /// The policy in `direction`.
    pub fn direction(&self, direction: Direction) -> &DirectionPolicy {
        match direction {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }
}
