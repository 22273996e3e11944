//! `policy trace --dns-name NAME`: a trace that also answers the DNS questions of a flow.
//!
//! - To an address: the address is taken as an answer for NAME, so `toFQDNs` selectors that
//!   NAME matches select it, as they would once the DNS proxy saw that answer.
//! - Through a rule with `rules.dns` (a flow to a DNS server on port 53): which of the rule's
//!   DNS selectors allows a query for NAME, or that none does and the proxy would refuse it.

use super::Engine;
use super::trace::{Target, Trace, TraceError, TraceRequest};
use crate::fqdn::canonical_name as canonical;
use crate::fqdn::pattern::first_allowing as allowing;

impl Engine {
    /// Traces `req` as [`Engine::trace`] does, with `name` as the DNS name of the flow.
    pub fn trace_dns(&self, req: &TraceRequest, name: &str) -> Result<Trace, TraceError> {
        let mut trace = match &req.to {
            Target::Ip(ip) => {
                let mut resolved = self.clone();
                let mut names = resolved.fqdn_names().clone();
                names.entry(canonical(name)).or_default().insert(*ip);
                resolved.set_dns_names(names);
                let mut trace = resolved.trace(req)?;
                trace.egress.notes.push(format!(
                    "{ip} taken as a DNS answer for {name} (--dns-name)"
                ));
                trace
            }
            _ => self.trace(req)?,
        };
        let notes: Vec<String> = trace
            .egress
            .matched_rules
            .iter()
            .filter(|m| !m.dns.is_empty())
            .map(|m| {
                let rule = format!("{} {}/{} {}", m.kind, m.namespace, m.name, m.rule);
                match allowing(&m.dns, name) {
                    Some(selector) => format!(
                        "DNS query for {name} allowed by the DNS rule {selector:?} of {rule}"
                    ),
                    None => format!(
                        "DNS query for {name} matches none of the DNS rules of {rule} ({}): \
                         the DNS proxy answers REFUSED",
                        m.dns.join(", ")
                    ),
                }
            })
            .collect();
        trace.egress.notes.extend(notes);
        Ok(trace)
    }
}
