//! Named container ports of every endpoint (what egress `toPorts` names resolve against),
//! and which peer identities' named ports changed between two versions: only the entries
//! of those identities can change in the policies that resolve egress named ports.

use std::collections::BTreeSet;

use super::Endpoint;
use super::entries::NamedPorts;

/// The named ports of `endpoints`: name → (identity, protocol, port).
pub fn collect<'a>(endpoints: impl Iterator<Item = &'a Endpoint>) -> NamedPorts {
    let mut out = NamedPorts::new();
    for e in endpoints {
        for p in &e.pod.ports {
            if let Some(name) = &p.name {
                out.entry(name.clone())
                    .or_default()
                    .insert((e.identity, p.protocol, p.port));
            }
        }
    }
    out
}

/// The identities with a named port in one of `old` and `new` but not in the other.
pub fn changed_identities(old: &NamedPorts, new: &NamedPorts) -> BTreeSet<u32> {
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let empty = BTreeSet::new();
    let mut out = BTreeSet::new();
    for name in names {
        let (a, b) = (
            old.get(name).unwrap_or(&empty),
            new.get(name).unwrap_or(&empty),
        );
        out.extend(a.symmetric_difference(b).map(|&(id, _, _)| id));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_identities_whose_ports_differ_are_reported() {
        let old = NamedPorts::from([
            ("http".into(), BTreeSet::from([(300, 6, 80), (301, 6, 80)])),
            ("dns".into(), BTreeSet::from([(302, 17, 53)])),
        ]);
        let new = NamedPorts::from([
            (
                "http".into(),
                BTreeSet::from([(300, 6, 80), (301, 6, 8080)]),
            ),
            ("metrics".into(), BTreeSet::from([(303, 6, 9090)])),
        ]);
        assert_eq!(
            changed_identities(&old, &new),
            BTreeSet::from([301, 302, 303])
        );
        assert!(changed_identities(&old, &old).is_empty());
    }
}
