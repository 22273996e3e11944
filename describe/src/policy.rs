//! Why policy decided what it decided, in the dashboard's words: the short POLICY column
//! and the full explanation of the detail pane, from `Flow.attribution` (our extension)
//! and Hubble's `*_allowed_by` / `*_denied_by`. Which decision it was is
//! [`decision::classify`]'s, the same as in the CLI's attribution.
//!
//! A default deny (133) has no rule to name: the explanation names the policies that
//! select the endpoint in that direction, none of which allows the peer (the gap G2 in
//! Hubble). An explicit deny (181) names the deny rule and its path in the object.

use observe_proto::flow::{Flow, Policy, PolicyRule, PolicyVerdictKind, TrafficDirection};

use crate::drop_reason::{drop_code, drop_name, drop_text};
use crate::names::{self, FlowEnd};
use crate::sanitize::cleaned;
use crate::{decision, l4, reason, verdict};

/// `CNP`, `CCNP`, `KNP` for the kinds we know, the kind itself otherwise.
pub fn short_kind(kind: &str) -> String {
    match kind {
        "CiliumNetworkPolicy" => "CNP".into(),
        "CiliumClusterwideNetworkPolicy" => "CCNP".into(),
        "NetworkPolicy" => "KNP".into(),
        other => cleaned(other),
    }
}

/// `namespace/name`, or `name` for cluster-wide objects.
fn object_name(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        cleaned(name)
    } else {
        cleaned(&format!("{namespace}/{name}"))
    }
}

/// `CNP shop/backend-ingress`.
fn short_policy(kind: &str, namespace: &str, name: &str) -> String {
    format!("{} {}", short_kind(kind), object_name(namespace, name))
}

/// One line per rule of the flow's attribution, or else per policy of `lists` (flows from
/// agents that name policies but not rules).
fn rule_lines(flow: &Flow, lists: [&Vec<Policy>; 2]) -> Vec<String> {
    let rules: Vec<String> = flow
        .attribution
        .iter()
        .flat_map(|a| a.rules.iter().map(rule_line))
        .collect();
    if !rules.is_empty() {
        return rules;
    }
    lists.into_iter().flatten().map(policy_line).collect()
}

/// `CiliumNetworkPolicy shop/frontend-never-db rule spec.egressDeny[0]`.
fn rule_line(rule: &PolicyRule) -> String {
    let mut line = format!(
        "{} {}",
        cleaned(&rule.kind),
        object_name(&rule.namespace, &rule.name)
    );
    if !rule.path.is_empty() {
        line.push_str(&format!(" rule {}", cleaned(&rule.path)));
    }
    line
}

fn policy_line(p: &Policy) -> String {
    format!(
        "{} {}",
        cleaned(&p.kind),
        object_name(&p.namespace, &p.name)
    )
}

/// The POLICY column: `default deny shop/db-ingress`, `deny shop/x`, `allow shop/y +1`
/// (object names only; the detail pane has kinds and rules), or empty when no policy
/// took part.
pub fn summary(flow: &Flow) -> String {
    let label = match decision::classify(flow) {
        PolicyVerdictKind::DefaultDeny => "default deny",
        PolicyVerdictKind::ExplicitDeny => "deny",
        PolicyVerdictKind::Allowed => "allow",
        PolicyVerdictKind::Unknown => return String::new(),
    };
    let names = object_names(flow);
    match names.as_slice() {
        [] => label.to_string(),
        [one] => format!("{label} {one}"),
        [first, rest @ ..] => format!("{label} {first} +{}", rest.len()),
    }
}

/// `namespace/name` of each policy behind the verdict, once each.
fn object_names(flow: &Flow) -> Vec<String> {
    distinct_policies(flow, |_, namespace, name| object_name(namespace, name))
}

/// `CNP shop/backend-ingress` for each policy behind the verdict, once each: the rules'
/// objects, or the selecting policies of a default deny, or Hubble's allowed/denied lists.
pub fn policy_names(flow: &Flow) -> Vec<String> {
    distinct_policies(flow, short_policy)
}

/// `show(kind, namespace, name)` of every policy the flow names, without repeats.
fn distinct_policies(flow: &Flow, show: impl Fn(&str, &str, &str) -> String) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    if let Some(a) = &flow.attribution {
        a.rules
            .iter()
            .for_each(|r| add(show(&r.kind, &r.namespace, &r.name)));
        a.selecting_policies
            .iter()
            .for_each(|p| add(show(&p.kind, &p.namespace, &p.name)));
    }
    let lists = [
        &flow.ingress_denied_by,
        &flow.egress_denied_by,
        &flow.ingress_allowed_by,
        &flow.egress_allowed_by,
    ];
    for p in lists.into_iter().flatten() {
        add(show(&p.kind, &p.namespace, &p.name));
    }
    out
}

/// The full explanation of the detail pane.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Explanation {
    /// One sentence: what decided.
    pub headline: String,
    /// The rules or policies involved, one per line.
    pub items: Vec<String>,
    /// What to change, when we can tell.
    pub hint: Option<String>,
}

/// The query name of a DNS L7 flow.
fn dns_query(flow: &Flow) -> Option<String> {
    match flow.l7.as_ref()?.record.as_ref()? {
        observe_proto::flow::layer7::Record::Dns(dns) => Some(dns.query.clone()),
        _ => None,
    }
}

/// The method and URL of an HTTP flow.
fn http_request(flow: &Flow) -> Option<(String, String)> {
    match flow.l7.as_ref()?.record.as_ref()? {
        observe_proto::flow::layer7::Record::Http(http) => {
            Some((http.method.clone(), http.url.clone()))
        }
        _ => None,
    }
}

/// The path (with query) of a URL as flows carry it (`http://host/path?q` → `/path?q`).
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// Explains the verdict of `flow`.
pub fn explain(flow: &Flow) -> Explanation {
    let ctx = Context::new(flow, decision::direction(flow));
    match decision::classify(flow) {
        PolicyVerdictKind::DefaultDeny => ctx.default_deny(flow),
        PolicyVerdictKind::ExplicitDeny => ctx.explicit_deny(flow),
        PolicyVerdictKind::Allowed => ctx.allowed(flow),
        PolicyVerdictKind::Unknown => ctx.no_policy(flow),
    }
}

/// The names the sentences use.
struct Context {
    /// `the ingress of shop/db`.
    at: String,
    /// The endpoint whose policy decided.
    endpoint: String,
    /// The other side.
    peer: String,
    /// `5432/TCP`.
    port: String,
}

impl Context {
    fn new(flow: &Flow, direction: TrafficDirection) -> Self {
        let (endpoint_end, peer_end) = match direction {
            TrafficDirection::Egress => (FlowEnd::Source, FlowEnd::Destination),
            _ => (FlowEnd::Destination, FlowEnd::Source),
        };
        let endpoint = names::name(flow, endpoint_end);
        let port = l4::of(flow).port_protocol();
        Self {
            at: format!("the {} of {endpoint}", reason::direction_name(direction)),
            endpoint,
            peer: names::name(flow, peer_end),
            port: if port.is_empty() {
                "this port".into()
            } else {
                port
            },
        }
    }

    fn default_deny(&self, flow: &Flow) -> Explanation {
        let selecting: Vec<String> = flow
            .attribution
            .iter()
            .flat_map(|a| a.selecting_policies.iter().map(policy_line))
            .collect();
        if let Some(name) = dns_query(flow) {
            return self.refused_query(flow, &name, selecting);
        }
        if let Some((method, url)) = http_request(flow) {
            return self.denied_request(flow, &method, &url, selecting);
        }
        if let Some(explained) = self.fqdn_drop(flow, &selecting) {
            return explained;
        }
        let n = selecting.len();
        let headline = match n {
            0 => format!(
                "Default deny at {}: policies select {} and no rule allows {} on {} (the agent did not name them).",
                self.at, self.endpoint, self.peer, self.port
            ),
            1 => format!(
                "Default deny at {}: 1 policy selects {} and none of its rules allows {} on {}:",
                self.at, self.endpoint, self.peer, self.port
            ),
            _ => format!(
                "Default deny at {}: {n} policies select {} and none of their rules allows {} on {}:",
                self.at, self.endpoint, self.peer, self.port
            ),
        };
        Explanation {
            headline,
            items: selecting,
            hint: Some(format!(
                "To allow it, add a rule allowing {} on {} to one of these policies (or a new one selecting {}), then check it with the policy trace below.",
                self.peer, self.port, self.endpoint
            )),
        }
    }

    /// A DNS query the proxy refused: no DNS rule of the rules allowing the flow to the
    /// DNS server matches the name.
    fn refused_query(&self, flow: &Flow, name: &str, mut items: Vec<String>) -> Explanation {
        let closest = flow
            .attribution
            .as_ref()
            .and_then(|a| a.closest_rule.as_ref());
        if let Some(rule) = closest {
            items.push(format!(
                "closest: {} (its rules.dns allow other names)",
                rule_line(rule)
            ));
        }
        Explanation {
            headline: format!(
                "The DNS proxy refused the query for {name} from {}: no DNS rule of the policies selecting it allows the name:",
                self.endpoint
            ),
            items,
            hint: Some(format!(
                "To allow it, add matchName: {} (or a matchPattern) to the rule's rules.dns, then check it with observe policy trace --dns-name {}.",
                name.trim_end_matches('.'),
                name.trim_end_matches('.')
            )),
        }
    }

    /// An HTTP request the proxy answered 403: no HTTP rule of the rules allowing the
    /// connection matches it.
    fn denied_request(
        &self,
        flow: &Flow,
        method: &str,
        url: &str,
        mut items: Vec<String>,
    ) -> Explanation {
        let attribution = flow.attribution.as_ref();
        let path = url_path(url);
        if let Some(rule) = attribution.and_then(|a| a.closest_rule.as_ref()) {
            let allows = attribution
                .map(|a| a.l7_rule.as_str())
                .filter(|r| !r.is_empty())
                .map_or_else(String::new, |r| format!(" allows {}", cleaned(r)));
            items.push(format!(
                "closest: {}{allows}; request was {method} {}",
                rule_line(rule),
                cleaned(path)
            ));
        }
        Explanation {
            headline: format!(
                "The HTTP proxy denied {method} {} from {} with 403 Access denied: no HTTP rule of the policies selecting {} allows it:",
                cleaned(url),
                self.peer,
                self.endpoint
            ),
            items,
            hint: Some(format!(
                "To allow it, add {{method: {method}, path: \"{}\"}} to the rule's rules.http, then check it with observe policy trace --http-method {method} --http-path '{}'.",
                cleaned(path),
                cleaned(path)
            )),
        }
    }

    /// A default deny to an address the DNS proxy once learned: why the name no longer
    /// lets it through.
    fn fqdn_drop(&self, flow: &Flow, selecting: &[String]) -> Option<Explanation> {
        let history = flow.attribution.as_ref()?.fqdn_history.as_ref()?;
        let destination = flow.ip.as_ref().map_or("", |ip| ip.destination.as_str());
        let said = crate::fqdn::history_text(destination, history)?;
        let mut items = vec![said];
        items.extend(selecting.iter().cloned());
        let name = history.name.trim_end_matches('.');
        Some(Explanation {
            headline: format!(
                "Default deny at {}: {} reaches {} only through toFQDNs, and the address no longer answers for {name} here:",
                self.at, self.endpoint, self.peer
            ),
            items,
            hint: Some(format!(
                "The pod must resolve {name} again before it connects (a client that caches answers past their TTL breaks here); --tofqdns-min-ttl keeps learned addresses longer."
            )),
        })
    }

    fn explicit_deny(&self, flow: &Flow) -> Explanation {
        let items = rule_lines(flow, [&flow.ingress_denied_by, &flow.egress_denied_by]);
        Explanation {
            headline: format!(
                "Denied at {} by a deny rule ({} on {}); deny rules win over every allow:",
                self.at, self.peer, self.port
            ),
            items,
            hint: Some(
                "To allow it, narrow or remove the deny rule; adding allow rules will not help."
                    .into(),
            ),
        }
    }

    fn allowed(&self, flow: &Flow) -> Explanation {
        let items = rule_lines(flow, [&flow.ingress_allowed_by, &flow.egress_allowed_by]);
        let headline = if items.is_empty() {
            format!(
                "Allowed at {} (no policy selects {} in this direction, or the rule was not named).",
                self.at, self.endpoint
            )
        } else {
            format!(
                "Allowed at {} ({} on {}) by:",
                self.at, self.peer, self.port
            )
        };
        Explanation {
            headline,
            items,
            hint: None,
        }
    }

    fn no_policy(&self, flow: &Flow) -> Explanation {
        if verdict::is_drop(flow) {
            let code = drop_code(flow);
            return Explanation {
                headline: format!(
                    "Dropped by the datapath: {} ({code} {}), not a policy decision.",
                    drop_text(code),
                    drop_name(code)
                ),
                ..Default::default()
            };
        }
        Explanation {
            headline: format!(
                "{}: no policy decision recorded for this event (an established connection, or no policy applies at {}).",
                verdict::verdict(flow),
                self.at
            ),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use observe_proto::flow::{Attribution, DropReason, Endpoint, Verdict};

    fn drop(kind: PolicyVerdictKind, direction: TrafficDirection) -> Flow {
        Flow {
            verdict: Verdict::Dropped.into(),
            drop_reason_desc: if kind == PolicyVerdictKind::DefaultDeny {
                DropReason::PolicyDenied
            } else {
                DropReason::PolicyDeny
            }
            .into(),
            source: Some(Endpoint {
                namespace: "shop".into(),
                pod_name: "frontend".into(),
                ..Default::default()
            }),
            destination: Some(Endpoint {
                namespace: "shop".into(),
                pod_name: "db".into(),
                ..Default::default()
            }),
            attribution: Some(Attribution {
                kind: kind.into(),
                direction: direction.into(),
                // The agent names rules for explicit denies, selecting policies for
                // default denies.
                rules: if kind == PolicyVerdictKind::ExplicitDeny {
                    vec![PolicyRule {
                        kind: "CiliumNetworkPolicy".into(),
                        namespace: "shop".into(),
                        name: "frontend-never-db".into(),
                        path: "spec.egressDeny[0]".into(),
                    }]
                } else {
                    vec![]
                },
                selecting_policies: if kind == PolicyVerdictKind::DefaultDeny {
                    vec![Policy {
                        kind: "NetworkPolicy".into(),
                        namespace: "shop".into(),
                        name: "db-ingress".into(),
                        ..Default::default()
                    }]
                } else {
                    vec![]
                },
                closest_rule: None,
                fqdn_history: None,
                l7_rule: String::new(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_default_deny_names_the_policies_selecting_the_endpoint() {
        let f = drop(PolicyVerdictKind::DefaultDeny, TrafficDirection::Ingress);
        let e = explain(&f);
        assert!(
            e.headline
                .starts_with("Default deny at the ingress of shop/db: 1 policy selects shop/db"),
            "{}",
            e.headline
        );
        assert_eq!(e.items, vec!["NetworkPolicy shop/db-ingress"]);
        assert_eq!(summary(&f), "default deny shop/db-ingress");
    }

    #[test]
    fn a_refused_dns_query_names_the_closest_rule_and_how_to_allow_the_name() {
        let mut f = drop(PolicyVerdictKind::DefaultDeny, TrafficDirection::Egress);
        f.l7 = Some(observe_proto::flow::Layer7 {
            record: Some(observe_proto::flow::layer7::Record::Dns(
                observe_proto::flow::Dns {
                    query: "evil.example.".into(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        });
        if let Some(a) = f.attribution.as_mut() {
            a.closest_rule = Some(PolicyRule {
                kind: "CiliumNetworkPolicy".into(),
                namespace: "shop".into(),
                name: "dns".into(),
                path: "spec.egress[0]".into(),
            });
        }
        let e = explain(&f);
        assert!(
            e.headline.starts_with(
                "The DNS proxy refused the query for evil.example. from shop/frontend"
            ),
            "{}",
            e.headline
        );
        assert!(
            e.items.last().unwrap().starts_with("closest: "),
            "{:?}",
            e.items
        );
        assert!(e.hint.unwrap().contains("--dns-name evil.example"));
    }

    #[test]
    fn a_403_names_the_closest_http_rule_and_the_request() {
        let mut f = drop(PolicyVerdictKind::DefaultDeny, TrafficDirection::Ingress);
        f.l7 = Some(observe_proto::flow::Layer7 {
            record: Some(observe_proto::flow::layer7::Record::Http(
                observe_proto::flow::Http {
                    method: "POST".into(),
                    url: "http://db:8080/health?x=1".into(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        });
        if let Some(a) = f.attribution.as_mut() {
            a.closest_rule = Some(PolicyRule {
                kind: "CiliumNetworkPolicy".into(),
                namespace: "shop".into(),
                name: "db-http".into(),
                path: "spec.ingress[0]".into(),
            });
            a.l7_rule = "GET /health".into();
        }
        let e = explain(&f);
        assert!(
            e.headline.starts_with(
                "The HTTP proxy denied POST http://db:8080/health?x=1 from shop/frontend with 403"
            ),
            "{}",
            e.headline
        );
        assert_eq!(
            e.items.last().unwrap(),
            "closest: CiliumNetworkPolicy shop/db-http rule spec.ingress[0] allows GET /health; request was POST /health?x=1"
        );
        assert!(
            e.hint
                .unwrap()
                .contains("--http-method POST --http-path '/health?x=1'")
        );
    }

    #[test]
    fn a_drop_to_an_expired_address_says_the_name_and_when_it_expired() {
        let mut f = drop(PolicyVerdictKind::DefaultDeny, TrafficDirection::Egress);
        f.ip = Some(observe_proto::flow::Ip {
            destination: "203.0.113.11".into(),
            ..Default::default()
        });
        if let Some(a) = f.attribution.as_mut() {
            a.fqdn_history = Some(observe_proto::flow::FqdnHistory {
                name: "short.partner.com.".into(),
                why: observe_proto::flow::FqdnGone::FqdnExpired as i32,
                ..Default::default()
            });
        }
        let e = explain(&f);
        assert!(
            e.headline.contains("only through toFQDNs"),
            "{}",
            e.headline
        );
        assert!(
            e.items[0].starts_with("203.0.113.11 was last seen for short.partner.com."),
            "{:?}",
            e.items
        );
        assert!(e.hint.unwrap().contains("resolve short.partner.com again"));
    }

    #[test]
    fn an_explicit_deny_names_the_rule_and_its_path() {
        let f = drop(PolicyVerdictKind::ExplicitDeny, TrafficDirection::Egress);
        let e = explain(&f);
        assert!(
            e.headline
                .starts_with("Denied at the egress of shop/frontend"),
            "{}",
            e.headline
        );
        assert_eq!(
            e.items[0],
            "CiliumNetworkPolicy shop/frontend-never-db rule spec.egressDeny[0]"
        );
        assert_eq!(summary(&f), "deny shop/frontend-never-db");
    }

    #[test]
    fn hubble_lists_are_used_when_there_is_no_attribution() {
        let f = Flow {
            ingress_allowed_by: vec![Policy {
                kind: "CiliumClusterwideNetworkPolicy".into(),
                name: "allow-dns".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(summary(&f), "allow allow-dns");
        assert_eq!(summary(&Flow::default()), "");
    }
}
