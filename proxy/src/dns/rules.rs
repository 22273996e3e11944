//! Judging a query against the `rules.dns` of the policy entry that redirected it: the
//! first rule whose selector matches allows it; with none, the query is denied, and the
//! closest rule (the one sharing the most trailing labels with the name) is named so the
//! refusal can say what almost allowed it.

use enforcer::fqdn::NamePattern;

/// One DNS rule and where it was written (`O`: the policy and path, for flows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRule<O> {
    /// `matchName` or `matchPattern`.
    pub selector: NamePattern,
    /// Where the rule came from.
    pub origin: O,
}

/// The outcome for one query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judgement<'a, O> {
    /// This rule allows the name.
    Allowed(&'a DnsRule<O>),
    /// No rule allows it; the closest rule, if any.
    Denied {
        /// The rule sharing the most trailing labels with the name.
        closest: Option<&'a DnsRule<O>>,
    },
}

/// The DNS rules of one policy entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRules<O> {
    rules: Vec<DnsRule<O>>,
}

impl<O> DnsRules<O> {
    /// Rules in policy order.
    pub fn new(rules: Vec<DnsRule<O>>) -> Self {
        Self { rules }
    }

    /// Judges a query name (any case, with or without the final dot).
    pub fn judge(&self, name: &str) -> Judgement<'_, O> {
        match self.rules.iter().find(|r| r.selector.matches(name)) {
            Some(rule) => Judgement::Allowed(rule),
            None => Judgement::Denied {
                closest: self.closest(name),
            },
        }
    }

    fn closest(&self, name: &str) -> Option<&DnsRule<O>> {
        self.rules
            .iter()
            .map(|r| (shared_suffix(r.selector.as_str(), name), r))
            .filter(|(shared, _)| *shared > 0)
            // The first of the best, in policy order.
            .fold(
                None,
                |best: Option<(usize, &DnsRule<O>)>, (n, r)| match best {
                    Some((b, _)) if b >= n => best,
                    _ => Some((n, r)),
                },
            )
            .map(|(_, r)| r)
    }
}

/// How many trailing labels two names share, case-insensitively, ignoring final dots.
fn shared_suffix(a: &str, b: &str) -> usize {
    let labels = |s: &str| -> Vec<String> {
        s.trim_end_matches('.')
            .split('.')
            .map(str::to_ascii_lowercase)
            .collect()
    };
    let (a, b) = (labels(a), labels(b));
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y && !x.is_empty())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> DnsRules<&'static str> {
        DnsRules::new(vec![
            DnsRule {
                selector: NamePattern::name("api.partner.com").unwrap(),
                origin: "egress[0].toPorts[0].rules.dns[0]",
            },
            DnsRule {
                selector: NamePattern::pattern("*.cdn.example").unwrap(),
                origin: "egress[0].toPorts[0].rules.dns[1]",
            },
        ])
    }

    #[test]
    fn the_first_matching_rule_allows_the_query() {
        let rules = rules();
        match rules.judge("API.partner.com.") {
            Judgement::Allowed(r) => assert_eq!(r.origin, "egress[0].toPorts[0].rules.dns[0]"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            rules.judge("edge.cdn.example"),
            Judgement::Allowed(r) if r.origin.ends_with("dns[1]")
        ));
    }

    #[test]
    fn a_denied_query_names_the_closest_rule() {
        let rules = rules();
        match rules.judge("www.partner.com.") {
            Judgement::Denied { closest: Some(r) } => {
                assert_eq!(r.selector.as_str(), "api.partner.com");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(rules.judge("evil.org"), Judgement::Denied { closest: None });
    }

    #[test]
    fn no_rules_deny_everything() {
        let none: DnsRules<()> = DnsRules::new(vec![]);
        assert_eq!(none.judge("a.io"), Judgement::Denied { closest: None });
    }
}
