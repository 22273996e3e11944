//! The DNS proxy's question to the engine: may this pod ask this server for this name?
//!
//! The answer follows the egress rules that allow the query's flow (pod → server, UDP or
//! TCP, port 53), as Cilium's DNS proxy does: a rule with `rules.dns` allows the names its
//! selectors match; a rule that allows the flow without DNS rules allows every name (the
//! datapath steers the port to the proxy because some rule has DNS rules, but that rule
//! does not narrow what the others allow). A query no rule allows is refused, and the
//! refusal names the DNS rule that came closest (the first one with selectors).

use std::net::IpAddr;

use super::Engine;
use super::trace::{RuleMatch, Target, TraceRequest};
use crate::cluster::PodKey;
use crate::fqdn::pattern::first_allowing;

/// The engine's answer to one query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsJudgement {
    /// The query may go upstream.
    pub allowed: bool,
    /// The rule that allowed it.
    pub rule: Option<RuleMatch>,
    /// The selector (`matchName`/`matchPattern` text) that allowed it, when a DNS rule did.
    pub selector: Option<String>,
    /// For a refused query: the DNS rule that came closest.
    pub closest: Option<RuleMatch>,
}

impl DnsJudgement {
    fn refused(closest: Option<RuleMatch>) -> Self {
        Self {
            allowed: false,
            rule: None,
            selector: None,
            closest,
        }
    }
}

impl Engine {
    /// Judges a query for `name` from `pod` to the DNS server at `server`:`port` over
    /// `protocol` (6 or 17).
    pub fn judge_dns(
        &self,
        pod: &PodKey,
        server: IpAddr,
        protocol: u8,
        port: u16,
        name: &str,
    ) -> DnsJudgement {
        let req = TraceRequest {
            from: Target::Pod(pod.clone()),
            to: Target::Ip(server),
            protocol,
            dport: port,
            reply: false,
        };
        let Ok(trace) = self.trace(&req) else {
            return DnsJudgement::refused(None);
        };
        let egress = trace.egress;
        if egress.drop_reason.is_some() {
            return DnsJudgement::refused(None);
        }
        let by_selector = egress.matched_rules.iter().find_map(|m| {
            first_allowing(&m.dns, name).map(|selector| (m.clone(), selector.to_string()))
        });
        if let Some((rule, selector)) = by_selector {
            return DnsJudgement {
                allowed: true,
                rule: Some(rule),
                selector: Some(selector),
                closest: None,
            };
        }
        if let Some(open) = egress.matched_rules.iter().find(|m| m.dns.is_empty()) {
            return DnsJudgement {
                allowed: true,
                rule: Some(open.clone()),
                selector: None,
                closest: None,
            };
        }
        let closest = egress.matched_rules.into_iter().find(|m| !m.dns.is_empty());
        DnsJudgement::refused(closest)
    }
}
