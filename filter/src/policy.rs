//! Policy filters (extensions): `policy`, `policy_kind`, `allowed_by`, `denied_by`.
//!
//! Policies are named `namespace/name`, or `name` alone for cluster-wide ones. Where a
//! flow names policies:
//!
//! | filter        | looks at |
//! |---------------|----------|
//! | `allowed_by`  | `ingress/egress_allowed_by`, attribution rules of an ALLOWED flow |
//! | `denied_by`   | `ingress/egress_denied_by`, attribution rules of an EXPLICIT_DENY, selecting policies of a DEFAULT_DENY |
//! | `policy`, `policy_kind` | all of the above |

use observe_proto::flow::{Flow, FlowFilter, PolicyVerdictKind};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the policy filters.
pub struct PolicyFilter;

impl FilterBuilder for PolicyFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        let mut out = Vec::new();
        let by_name: [(&'static str, &[String], Role); 3] = [
            ("policy", &filter.policy, Role::Any),
            ("allowed_by", &filter.allowed_by, Role::Allowed),
            ("denied_by", &filter.denied_by, Role::Denied),
        ];
        for (field, values, role) in by_name {
            if !values.is_empty() {
                let names = parse_names(field, values)?;
                out.push(matching(role, move |r| names.iter().any(|n| n.matches(r))));
            }
        }
        if !filter.policy_kind.is_empty() {
            let kinds = parse_kinds(&filter.policy_kind)?;
            out.push(matching(Role::Any, move |r| kinds.contains(&r.kind)));
        }
        Ok(out)
    }
}

/// A policy reference found in a flow.
struct PolicyRef<'a> {
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
}

/// Which references a filter looks at.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Allowed,
    Denied,
    Any,
}

fn matching(role: Role, pred: impl Fn(&PolicyRef<'_>) -> bool + Send + Sync + 'static) -> FilterFn {
    Box::new(move |flow| references(flow, role).any(|r| pred(&r)))
}

/// Every policy reference of `flow` playing `role`.
fn references(flow: &Flow, role: Role) -> impl Iterator<Item = PolicyRef<'_>> {
    let wants = |r: Role| role == Role::Any || role == r;
    let policies = |list, r| wants(r).then_some(list).into_iter().flatten();
    let listed = policies(&flow.ingress_allowed_by, Role::Allowed)
        .chain(policies(&flow.egress_allowed_by, Role::Allowed))
        .chain(policies(&flow.ingress_denied_by, Role::Denied))
        .chain(policies(&flow.egress_denied_by, Role::Denied))
        .map(|p| PolicyRef {
            kind: &p.kind,
            namespace: &p.namespace,
            name: &p.name,
        });
    let attribution = flow.attribution.as_ref();
    let attribution_role = attribution.map(|a| match a.kind() {
        PolicyVerdictKind::Allowed => Role::Allowed,
        _ => Role::Denied,
    });
    let relevant = attribution.filter(|_| attribution_role.is_some_and(wants));
    let rules = relevant
        .into_iter()
        .flat_map(|a| &a.rules)
        .map(|r| PolicyRef {
            kind: &r.kind,
            namespace: &r.namespace,
            name: &r.name,
        });
    let selecting = relevant
        .into_iter()
        .flat_map(|a| &a.selecting_policies)
        .map(|p| PolicyRef {
            kind: &p.kind,
            namespace: &p.namespace,
            name: &p.name,
        });
    listed.chain(rules).chain(selecting)
}

/// `namespace/name`, or `name` for a cluster-wide policy.
struct PolicyName {
    namespace: String,
    name: String,
}

impl PolicyName {
    fn parse(text: &str) -> Result<Self, &'static str> {
        let (namespace, name) = text.split_once('/').unwrap_or(("", text));
        if name.contains('/') {
            return Err("expected namespace/name or name");
        }
        if name.is_empty() || (text.contains('/') && namespace.is_empty()) {
            return Err("namespace and name must not be empty");
        }
        Ok(Self {
            namespace: namespace.into(),
            name: name.into(),
        })
    }

    fn matches(&self, r: &PolicyRef<'_>) -> bool {
        self.namespace == r.namespace && self.name == r.name
    }
}

fn parse_names(field: &'static str, values: &[String]) -> Result<Vec<PolicyName>, FilterError> {
    values
        .iter()
        .map(|v| PolicyName::parse(v).map_err(|reason| FilterError::invalid(field, v, reason)))
        .collect()
}

/// Kind names as flows carry them, from full or short names in any case.
fn parse_kinds(values: &[String]) -> Result<Vec<&'static str>, FilterError> {
    values
        .iter()
        .map(|v| {
            Ok(match v.to_ascii_lowercase().as_str() {
                "ciliumnetworkpolicy" | "cnp" => "CiliumNetworkPolicy",
                "ciliumclusterwidenetworkpolicy" | "ccnp" => "CiliumClusterwideNetworkPolicy",
                "networkpolicy" | "knp" | "netpol" => "NetworkPolicy",
                "derived" => "Derived",
                _ => {
                    return Err(FilterError::invalid(
                        "policy_kind",
                        v,
                        "expected CiliumNetworkPolicy (CNP), CiliumClusterwideNetworkPolicy (CCNP), NetworkPolicy (KNP) or Derived",
                    ));
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{
        Attribution, Flow, FlowFilter, Policy, PolicyRule, PolicyVerdictKind,
    };

    fn policy(kind: &str, namespace: &str, name: &str) -> Policy {
        Policy {
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    fn allowed() -> Flow {
        Flow {
            ingress_allowed_by: vec![policy("CiliumNetworkPolicy", "default", "allow-web")],
            attribution: Some(Attribution {
                kind: PolicyVerdictKind::Allowed.into(),
                rules: vec![PolicyRule {
                    kind: "CiliumNetworkPolicy".into(),
                    namespace: "default".into(),
                    name: "allow-web".into(),
                    path: "spec.ingress[0]".into(),
                }],
                ..Default::default()
            }),
            ..forwarded()
        }
    }

    fn default_denied() -> Flow {
        Flow {
            attribution: Some(Attribution {
                kind: PolicyVerdictKind::DefaultDeny.into(),
                selecting_policies: vec![policy("NetworkPolicy", "prod", "db-only")],
                ..Default::default()
            }),
            ..dropped()
        }
    }

    fn explicitly_denied() -> Flow {
        Flow {
            egress_denied_by: vec![policy("CiliumClusterwideNetworkPolicy", "", "no-world")],
            ..dropped()
        }
    }

    fn filter(f: impl FnOnce(&mut FlowFilter)) -> FlowFilter {
        let mut filter = FlowFilter::default();
        f(&mut filter);
        filter
    }

    #[test]
    fn policy_matches_any_role() {
        check(
            filter(|f| f.policy = vec!["default/allow-web".into()]),
            &[
                ("allowed", allowed(), true),
                ("other", default_denied(), false),
            ],
        );
        check(
            filter(|f| f.policy = vec!["prod/db-only".into()]),
            &[("selecting", default_denied(), true)],
        );
        check(
            filter(|f| f.policy = vec!["no-world".into()]),
            &[
                ("cluster-wide by bare name", explicitly_denied(), true),
                ("namespaced is not cluster-wide", allowed(), false),
            ],
        );
    }

    #[test]
    fn allowed_by_and_denied_by_look_at_their_role_only() {
        check(
            filter(|f| f.allowed_by = vec!["default/allow-web".into()]),
            &[("allowed", allowed(), true)],
        );
        check(
            filter(|f| f.denied_by = vec!["default/allow-web".into()]),
            &[("allowed is not denied", allowed(), false)],
        );
        check(
            filter(|f| f.denied_by = vec!["prod/db-only".into(), "no-world".into()]),
            &[
                ("default deny via selecting policy", default_denied(), true),
                ("explicit deny", explicitly_denied(), true),
                ("no policy", dropped(), false),
            ],
        );
    }

    #[test]
    fn kinds_accept_short_names() {
        check(
            filter(|f| f.policy_kind = vec!["knp".into()]),
            &[
                ("selecting knp", default_denied(), true),
                ("cnp", allowed(), false),
            ],
        );
        check(
            filter(|f| f.policy_kind = vec!["CCNP".into(), "CiliumNetworkPolicy".into()]),
            &[
                ("ccnp", explicitly_denied(), true),
                ("cnp", allowed(), true),
            ],
        );
    }

    #[test]
    fn bad_names_and_kinds_are_rejected() {
        for bad in ["", "a/b/c", "/x", "ns/"] {
            let err = build_err(filter(|f| f.policy = vec![bad.into()]));
            assert!(
                err.to_string().starts_with("invalid policy filter"),
                "{bad:?}: {err}"
            );
        }
        let err = build_err(filter(|f| f.policy_kind = vec!["Ingress".into()]));
        assert!(err.to_string().contains("policy_kind"));
    }
}
