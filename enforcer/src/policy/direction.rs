//! [`Direction`]: ingress or egress, from the endpoint's point of view. The one direction
//! type of the enforcer: manifest sections, policy computation, trace, map state and the
//! datapath all use it. Its wire encoding (the `u8` in map keys, events and counters, shared
//! with the eBPF program) is [`probe_common::direction`]; [`Direction::as_wire`] and
//! [`Direction::from_wire`] convert.

use std::fmt;

use probe_common::direction;

/// Which way traffic crosses an endpoint.
///
/// Ordered like the wire values (ingress before egress).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Traffic entering the endpoint (its ingress policy; `ingress`/`ingressDeny`
    /// sections). Named ports resolve against the endpoint itself.
    Ingress,
    /// Traffic leaving the endpoint (its egress policy; `egress`/`egressDeny` sections).
    /// Named ports resolve against each peer.
    Egress,
}

impl Direction {
    /// Both directions, ingress first.
    pub const BOTH: [Self; 2] = [Self::Ingress, Self::Egress];

    /// `ingress` or `egress`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ingress => "ingress",
            Self::Egress => "egress",
        }
    }

    /// The datapath's encoding ([`direction::INGRESS`] or [`direction::EGRESS`]).
    pub fn as_wire(self) -> u8 {
        match self {
            Self::Ingress => direction::INGRESS,
            Self::Egress => direction::EGRESS,
        }
    }

    /// The direction a datapath value encodes, or `None` for a value that is neither.
    pub fn from_wire(value: u8) -> Option<Self> {
        match value {
            direction::INGRESS => Some(Self::Ingress),
            direction::EGRESS => Some(Self::Egress),
            _ => None,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip_and_others_are_refused() {
        for d in Direction::BOTH {
            assert_eq!(Direction::from_wire(d.as_wire()), Some(d));
        }
        assert_eq!(Direction::Ingress.as_wire(), direction::INGRESS);
        assert_eq!(Direction::Egress.as_wire(), direction::EGRESS);
        assert_eq!(Direction::from_wire(0), None);
        assert_eq!(Direction::from_wire(3), None);
    }

    #[test]
    fn order_and_names_follow_the_wire() {
        assert!(Direction::Ingress < Direction::Egress);
        assert!(Direction::Ingress.as_wire() < Direction::Egress.as_wire());
        assert_eq!(Direction::Ingress.to_string(), "ingress");
        assert_eq!(Direction::Egress.name(), "egress");
    }
}
