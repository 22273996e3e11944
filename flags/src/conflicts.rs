//! Flags that cannot be combined within one list, as in Hubble: an either-side flag with
//! its one-sided variant (`--port` and `--to-port`), and source selectors that would
//! contradict each other (`--ip` and `--from-pod`, `--from-namespace` and `--fqdn`, ...).

use crate::error::FlagsError;

/// Groups of flags of which at most one may be used (per list).
const GROUPS: &[&[&str]] = &[
    &[
        "from-fqdn",
        "from-ip",
        "ip",
        "fqdn",
        "from-namespace",
        "namespace",
        "from-all-namespaces",
        "all-namespaces",
    ],
    &["from-fqdn", "from-ip", "ip", "fqdn", "from-pod", "pod"],
    &[
        "to-fqdn",
        "to-ip",
        "ip",
        "fqdn",
        "to-namespace",
        "namespace",
        "to-all-namespaces",
        "all-namespaces",
    ],
    &["to-fqdn", "to-ip", "ip", "fqdn", "to-pod", "pod"],
    &["to-pod", "namespace", "all-namespaces"],
    &["from-pod", "namespace", "all-namespaces"],
    &["to-service", "namespace", "all-namespaces"],
    &["from-service", "namespace", "all-namespaces"],
    &["label", "from-label"],
    &["label", "to-label"],
    &["service", "from-service"],
    &["service", "to-service"],
    &["port", "to-port"],
    &["port", "from-port"],
    &["identity", "to-identity"],
    &["identity", "from-identity"],
    &["workload", "to-workload"],
    &["workload", "from-workload"],
    &["encrypted", "unencrypted"],
];

/// The first conflicting pair among `used` flags, naming the one used first first.
pub(crate) fn check(used: &[&'static str]) -> Result<(), FlagsError> {
    for &flag in used {
        for group in GROUPS.iter().filter(|g| g.contains(&flag)) {
            if let Some(&other) = used
                .iter()
                .find(|&&other| other != flag && group.contains(&other))
            {
                return Err(FlagsError::Conflict {
                    first: flag,
                    second: other,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_side_and_one_sided_variants_conflict() {
        assert_eq!(
            check(&["verdict", "port", "to-port"]),
            Err(FlagsError::Conflict {
                first: "port",
                second: "to-port"
            })
        );
        assert!(check(&["ip", "from-pod"]).is_err());
        assert!(check(&["namespace", "to-pod"]).is_err());
        assert!(check(&["from-pod", "to-pod", "from-ip"]).is_err());
    }

    #[test]
    fn independent_flags_combine() {
        assert_eq!(check(&["from-pod", "to-pod", "to-port", "verdict"]), Ok(()));
        assert_eq!(
            check(&["from-namespace", "to-namespace", "to-label"]),
            Ok(())
        );
        assert_eq!(check(&[]), Ok(()));
    }
}
