//! Hubble's `dns` metric, from the DNS proxy's L7 flows:
//!
//! - `hubble_dns_queries_total{rcode,qtypes,ips_returned}`: queries (L7 requests), so
//!   `rcode` is empty and `ips_returned` 0, as in Hubble;
//! - `hubble_dns_responses_total{rcode,qtypes,ips_returned}`: answers, with the response
//!   code's name (`No Error`, `Non-Existent Domain`, `Query Refused`...) and the number of
//!   addresses;
//! - `hubble_dns_response_types_total{type,qtypes}`: one count per record type an answer
//!   carried.
//!
//! `qtypes` is the question types joined with commas.

use observe_proto::flow::{Dns, Flow, L7FlowType, layer7};

use super::series::CounterVec;
use super::text::Encoder;
use super::{Handler, Plugin};

/// The plugin.
pub(super) const PLUGIN: Plugin = Plugin {
    name: "dns",
    new: || Box::new(DnsHandler::default()),
};

#[derive(Default)]
struct DnsHandler {
    queries: CounterVec<(String, String, usize)>,
    responses: CounterVec<(String, String, usize)>,
    response_types: CounterVec<(String, String)>,
}

impl Handler for DnsHandler {
    fn process_flow(&mut self, flow: &Flow) {
        let Some(l7) = &flow.l7 else { return };
        let Some(layer7::Record::Dns(dns)) = &l7.record else {
            return;
        };
        let qtypes = dns.qtypes.join(",");
        match l7.r#type() {
            L7FlowType::Request => self.queries.inc((String::new(), qtypes, 0)),
            L7FlowType::Response => self.response(dns, qtypes),
            _ => {}
        }
    }

    fn encode(&self, out: &mut Encoder) {
        let labels = |(rcode, qtypes, ips): &(String, String, usize)| {
            [rcode.clone(), qtypes.clone(), ips.to_string()]
        };
        self.queries.encode(
            out,
            ("hubble_dns_queries_total", "Number of DNS queries observed"),
            ["rcode", "qtypes", "ips_returned"],
            labels,
        );
        self.responses.encode(
            out,
            (
                "hubble_dns_responses_total",
                "Number of DNS responses observed",
            ),
            ["rcode", "qtypes", "ips_returned"],
            labels,
        );
        self.response_types.encode(
            out,
            (
                "hubble_dns_response_types_total",
                "Number of DNS response types",
            ),
            ["type", "qtypes"],
            |(kind, qtypes)| [kind.clone(), qtypes.clone()],
        );
    }
}

impl DnsHandler {
    fn response(&mut self, dns: &Dns, qtypes: String) {
        for rrtype in &dns.rrtypes {
            self.response_types.inc((rrtype.clone(), qtypes.clone()));
        }
        self.responses
            .inc((rcode_name(dns.rcode).to_string(), qtypes, dns.ips.len()));
    }
}

/// The name Hubble's metric gives a response code.
fn rcode_name(rcode: u32) -> &'static str {
    match rcode {
        0 => "No Error",
        1 => "Format Error",
        2 => "Server Failure",
        3 => "Non-Existent Domain",
        4 => "Not Implemented",
        5 => "Query Refused",
        _ => "Other",
    }
}

#[cfg(test)]
mod tests {
    use observe_proto::flow::Layer7;

    use super::*;

    fn dns_flow(kind: L7FlowType, rcode: u32, ips: &[&str], rrtypes: &[&str]) -> Flow {
        Flow {
            l7: Some(Layer7 {
                r#type: kind.into(),
                latency_ns: 0,
                record: Some(layer7::Record::Dns(Dns {
                    query: "api.partner.com.".into(),
                    ips: ips.iter().map(|s| (*s).to_string()).collect(),
                    rcode,
                    qtypes: vec!["A".into()],
                    rrtypes: rrtypes.iter().map(|s| (*s).to_string()).collect(),
                    observation_source: "proxy".into(),
                    ..Dns::default()
                })),
            }),
            ..Flow::default()
        }
    }

    fn page(handler: &DnsHandler) -> String {
        let mut out = Encoder::new();
        handler.encode(&mut out);
        out.finish()
    }

    #[test]
    fn queries_answers_and_record_types_are_counted_in_hubbles_families() {
        let mut h = DnsHandler::default();
        h.process_flow(&dns_flow(L7FlowType::Request, 0, &[], &[]));
        h.process_flow(&dns_flow(L7FlowType::Request, 0, &[], &[]));
        h.process_flow(&dns_flow(
            L7FlowType::Response,
            0,
            &["203.0.113.10", "203.0.113.11"],
            &["CNAME", "A"],
        ));
        h.process_flow(&dns_flow(L7FlowType::Response, 5, &[], &[]));
        h.process_flow(&Flow::default());
        let text = page(&h);
        for line in [
            r#"hubble_dns_queries_total{rcode="",qtypes="A",ips_returned="0"} 2"#,
            r#"hubble_dns_responses_total{rcode="No Error",qtypes="A",ips_returned="2"} 1"#,
            r#"hubble_dns_responses_total{rcode="Query Refused",qtypes="A",ips_returned="0"} 1"#,
            r#"hubble_dns_response_types_total{type="A",qtypes="A"} 1"#,
            r#"hubble_dns_response_types_total{type="CNAME",qtypes="A"} 1"#,
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
