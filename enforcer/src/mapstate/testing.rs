//! Builders for unit tests of map state and of what consumes it (the datapath's keys and
//! sync): rules, values and direction policies from compact tuples.

use std::sync::Arc;

use super::{Action, DirectionPolicy, L7Kind, MapKey, MapState, MapValue, PortRange};
use crate::policy::origin::{PolicyKind, PolicyRef, RuleRef};

/// Rule `spec.ingress[0]` of CiliumNetworkPolicy `ns/name`.
pub(crate) fn rule(name: &str) -> RuleRef {
    let policy = Arc::new(PolicyRef {
        kind: PolicyKind::CiliumNetworkPolicy,
        namespace: "ns".into(),
        name: name.into(),
    });
    RuleRef {
        policy,
        path: "spec.ingress[0]".into(),
    }
}

/// A map-state value with one rule, [`rule`]`(name)`.
pub(crate) fn value(action: Action, name: &str) -> MapValue {
    MapValue {
        action,
        rules: Arc::from(vec![rule(name)]),
        l7: L7Kind::None,
    }
}

/// An enforced direction whose map state holds exactly these `(identity, protocol, ports,
/// action)` entries (not resolved), the i-th from rule `r{i}`.
pub(crate) fn policy(entries: &[(u32, u8, PortRange, Action)]) -> DirectionPolicy {
    let mut state = MapState::default();
    for (i, &(identity, protocol, ports, action)) in entries.iter().enumerate() {
        let key = MapKey {
            identity,
            protocol,
            ports,
        };
        state.entries.insert(key, value(action, &format!("r{i}")));
    }
    DirectionPolicy {
        enforced: true,
        selecting: vec![],
        state,
        audit: None,
    }
}
