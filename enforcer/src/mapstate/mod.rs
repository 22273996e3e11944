//! Map state: an endpoint's resolved policy per direction, the engine's output and the
//! datapath's input.
//!
//! Entries are keyed by (peer identity or 0 for any, protocol or 0 for any, port range) and
//! say allow or deny, with the rules that produced them. Precedence is resolved when the
//! state is built ([`resolve`]): within one identity, port ranges of a protocol are
//! disjoint, every allow covered by a deny of the same identity or of the wildcard identity
//! is gone, and narrower entries inherit the rules of broader entries with the same action.
//! [`DirectionPolicy::decide`] then decides exactly like the datapath's two LPM lookups.

mod entry;
mod lookup;
mod port_range;
pub mod resolve;
#[cfg(test)]
pub(crate) mod testing;

pub use entry::{
    Action, DirectionPolicy, EndpointPolicy, L7Kind, MapKey, MapState, MapValue, RuleSet,
};
pub use lookup::{Lookup, Verdict};
pub use port_range::PortRange;
