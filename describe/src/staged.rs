//! The staged verdict of a flow (`observe policy stage`): what the staged policies would
//! decide for the connection, and why, in the words the CLI and the dashboard both print.

use observe_proto::flow::{Flow, Verdict};

use crate::attribution::{list_into, policy_into, rule_into};

/// The staged verdict and the rules behind it: `(DROPPED, "CiliumNetworkPolicy e2e/x
/// spec.ingressDeny[0]")`, or for a staged default deny `(DROPPED, "default deny:
/// CiliumNetworkPolicy e2e/x")` (the why is empty when nothing names it). `None` for a
/// flow without one.
pub fn staged(flow: &Flow) -> Option<(Verdict, String)> {
    let staged = flow.staged.as_ref()?;
    let Some(a) = &staged.attribution else {
        return Some((staged.verdict(), String::new()));
    };
    let mut why = String::new();
    if a.rules.is_empty() {
        if !a.selecting_policies.is_empty() {
            why.push_str("default deny: ");
            list_into(&mut why, &a.selecting_policies, policy_into);
        }
    } else {
        list_into(&mut why, &a.rules, rule_into);
    }
    Some((staged.verdict(), crate::sanitize::cleaned(&why)))
}

#[cfg(test)]
mod tests {
    use observe_proto::flow::{
        Attribution, Flow, Policy, PolicyRule, PolicyVerdictKind, StagedVerdict, Verdict,
    };

    use super::*;

    fn with(staged: StagedVerdict) -> Flow {
        Flow {
            staged: Some(staged),
            ..Flow::default()
        }
    }

    #[test]
    fn a_staged_verdict_names_its_rule_or_its_selecting_policies() {
        assert_eq!(staged(&Flow::default()), None);
        let deny = with(StagedVerdict {
            verdict: Verdict::Dropped.into(),
            drop_reason: 181,
            attribution: Some(Attribution {
                kind: PolicyVerdictKind::ExplicitDeny.into(),
                rules: vec![PolicyRule {
                    kind: "CiliumNetworkPolicy".into(),
                    namespace: "e2e".into(),
                    name: "lockdown".into(),
                    path: "spec.ingressDeny[0]".into(),
                }],
                ..Attribution::default()
            }),
        });
        assert_eq!(
            staged(&deny),
            Some((
                Verdict::Dropped,
                "CiliumNetworkPolicy e2e/lockdown spec.ingressDeny[0]".into()
            ))
        );
        let default_deny = with(StagedVerdict {
            verdict: Verdict::Dropped.into(),
            drop_reason: 133,
            attribution: Some(Attribution {
                kind: PolicyVerdictKind::DefaultDeny.into(),
                selecting_policies: vec![Policy {
                    kind: "CiliumClusterwideNetworkPolicy".into(),
                    name: "baseline".into(),
                    ..Policy::default()
                }],
                ..Attribution::default()
            }),
        });
        assert_eq!(
            staged(&default_deny),
            Some((
                Verdict::Dropped,
                "default deny: CiliumClusterwideNetworkPolicy baseline".into()
            ))
        );
        let allowed = with(StagedVerdict {
            verdict: Verdict::Forwarded.into(),
            ..StagedVerdict::default()
        });
        assert_eq!(staged(&allowed), Some((Verdict::Forwarded, String::new())));
    }
}
