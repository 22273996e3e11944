//! A DNS proxy record as a Hubble `Type: L7` flow: `l7.dns` (query, addresses, TTL, CNAMEs,
//! rcode, question and record types, `observation_source: proxy`), the query's or answer's
//! addresses and ports, both endpoints, and the policy: the DNS rule that allowed the
//! query, or for a refused one the policies selecting the pod and the rule closest to
//! allowing it (Hubble leaves these empty on L7 flows).

use observe_proto::flow::{
    Attribution, Dns, Flow, L7FlowType, Layer7, PolicyVerdictKind, TrafficDirection, Verdict,
    layer7,
};

use super::l7::{End, L7Parts, l7_flow};
use super::policy::{l7_denial, policy, policy_rule};
use crate::getters::Getters;
use crate::l7::{DnsKind, DnsRecord, DnsVerdict};

/// Where Hubble says a DNS record was observed.
const OBSERVATION_SOURCE: &str = "proxy";

/// The flow of one DNS record.
pub(super) fn dns_flow(record: &DnsRecord, node_name: &str, getters: &Getters) -> Flow {
    let parts = L7Parts {
        time: record.time,
        verdict: verdict(record.verdict),
        client: End {
            addr: record.client,
            identity: record.client_identity,
        },
        server: End {
            addr: record.server,
            identity: record.server_identity,
        },
        reply: record.kind == DnsKind::Answer,
        tcp: record.tcp,
        direction: TrafficDirection::Egress,
        l7: layer7(record),
        summary: summary(record),
    };
    let mut flow = l7_flow(parts, node_name, getters);
    attribute(record, &mut flow, getters);
    flow
}

/// Hubble's summary of a DNS record: `DNS Query api.partner.com. A`, `DNS Answer
/// "203.0.113.10" TTL: 60 (Proxy api.partner.com. A)`, `DNS Answer RCode: Query Refused
/// (Proxy evil.example. A)`.
fn summary(record: &DnsRecord) -> String {
    let qtypes = record.qtypes.join(",");
    let name = &record.query;
    let Some(answer) = record
        .answer
        .as_ref()
        .filter(|_| record.kind == DnsKind::Answer)
    else {
        return format!("DNS Query {name} {qtypes}");
    };
    let said = if answer.rcode == 0 {
        let ips: Vec<String> = answer.ips.iter().map(ToString::to_string).collect();
        format!("\"{}\" TTL: {}", ips.join(","), answer.ttl)
    } else {
        format!("RCode: {}", rcode_name(answer.rcode))
    };
    format!("DNS Answer {said} (Proxy {name} {qtypes})")
}

/// The response code as Hubble's summary names it.
fn rcode_name(rcode: u32) -> String {
    match rcode {
        1 => "Format Error".into(),
        2 => "Server Failure".into(),
        3 => "Non-Existent Domain".into(),
        4 => "Not Implemented".into(),
        5 => "Query Refused".into(),
        other => format!("{other}"),
    }
}

fn verdict(v: DnsVerdict) -> Verdict {
    match v {
        DnsVerdict::Forwarded => Verdict::Forwarded,
        DnsVerdict::Refused => Verdict::Dropped,
        DnsVerdict::Error => Verdict::Error,
    }
}

fn layer7(record: &DnsRecord) -> Layer7 {
    let answer = record.answer.clone().unwrap_or_default();
    Layer7 {
        r#type: match record.kind {
            DnsKind::Query => L7FlowType::Request,
            DnsKind::Answer => L7FlowType::Response,
        }
        .into(),
        latency_ns: record
            .latency
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        record: Some(layer7::Record::Dns(Dns {
            query: record.query.clone(),
            ips: answer.ips.iter().map(ToString::to_string).collect(),
            ttl: answer.ttl,
            cnames: answer.cnames,
            observation_source: OBSERVATION_SOURCE.into(),
            rcode: answer.rcode,
            qtypes: record.qtypes.clone(),
            rrtypes: answer.rrtypes,
        })),
    }
}

/// The allowing rule, or for a refusal the selecting policies and the closest rule.
fn attribute(record: &DnsRecord, flow: &mut Flow, getters: &Getters) {
    match (&record.allowed_by, record.verdict) {
        (Some(rule), DnsVerdict::Forwarded | DnsVerdict::Error) => {
            flow.egress_allowed_by = vec![policy(&rule.policy)];
            flow.attribution = Some(Attribution {
                kind: PolicyVerdictKind::Allowed.into(),
                direction: TrafficDirection::Egress.into(),
                rules: vec![policy_rule(rule)],
                ..Default::default()
            });
        }
        (_, DnsVerdict::Refused) => {
            flow.attribution = Some(l7_denial(
                getters.policies.as_ref(),
                record.endpoint_id,
                TrafficDirection::Egress,
                record.closest_rule.as_ref(),
                String::new(),
            ));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::getters::{
        EndpointInfo, FakeEndpointGetter, FakePolicyGetter, PolicyInfo, RuleInfo,
    };
    use crate::l7::DnsAnswer;
    use observe_proto::flow::IpVersion;
    use observe_proto::flow::{FlowType, Tcp, layer4};

    fn rule(path: &str) -> RuleInfo {
        RuleInfo {
            policy: PolicyInfo {
                kind: "CiliumNetworkPolicy".into(),
                namespace: "shop".into(),
                name: "backend-dns".into(),
                revision: 3,
            },
            path: path.into(),
        }
    }

    fn record(kind: DnsKind, verdict: DnsVerdict) -> DnsRecord {
        DnsRecord {
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            kind,
            client: "10.0.1.5:41000".parse().unwrap(),
            server: "10.0.2.10:53".parse().unwrap(),
            tcp: false,
            endpoint_id: 12,
            client_identity: 28664,
            server_identity: 54439,
            query: "api.partner.com.".into(),
            qtypes: vec!["A".into()],
            answer: None,
            verdict,
            latency: None,
            allowed_by: None,
            closest_rule: None,
        }
    }

    fn getters() -> Getters {
        let backend = Arc::new(EndpointInfo {
            id: 12,
            identity: 28664,
            namespace: "shop".into(),
            pod_name: "backend".into(),
            labels: vec!["k8s:app=backend".into()],
            node_name: "node".into(),
        });
        let selecting = rule("").policy;
        Getters {
            endpoints: Arc::new(FakeEndpointGetter {
                on_endpoint_by_id: None,
                on_endpoint_by_ip: Some(Box::new(move |ip| {
                    (ip.to_string() == "10.0.1.5").then(|| backend.clone())
                })),
            }),
            policies: Arc::new(FakePolicyGetter {
                on_rules_by_cookie: None,
                on_auditing_policies: Some(Box::new(|_| Vec::new())),
                on_selecting_policies: Some(Box::new(move |_| vec![selecting.clone()])),
            }),
            ..Getters::default()
        }
    }

    #[test]
    fn an_allowed_answer_is_a_forwarded_l7_response_in_hubbles_shape() {
        let mut r = record(DnsKind::Answer, DnsVerdict::Forwarded);
        r.answer = Some(DnsAnswer {
            rcode: 0,
            ips: vec!["203.0.113.10".parse().unwrap()],
            ttl: 60,
            cnames: vec![],
            rrtypes: vec!["A".into()],
        });
        r.latency = Some(Duration::from_micros(850));
        r.allowed_by = Some(rule("spec.egress[0].toPorts[0].rules.dns[0]"));
        let flow = dns_flow(&r, "node", &getters());
        assert_eq!(flow.r#type(), FlowType::L7);
        assert_eq!(flow.verdict(), Verdict::Forwarded);
        assert_eq!(flow.event_type.as_ref().unwrap().r#type, 129);
        assert_eq!(flow.is_reply, Some(true.into()));
        // An answer goes from the server to the pod.
        let ip = flow.ip.as_ref().unwrap();
        assert_eq!(
            (ip.source.as_str(), ip.destination.as_str()),
            ("10.0.2.10", "10.0.1.5")
        );
        assert_eq!(flow.destination.as_ref().unwrap().pod_name, "backend");
        let l7 = flow.l7.as_ref().unwrap();
        assert_eq!(
            (l7.r#type(), l7.latency_ns),
            (L7FlowType::Response, 850_000)
        );
        let Some(layer7::Record::Dns(dns)) = &l7.record else {
            panic!("dns")
        };
        assert_eq!(dns.query, "api.partner.com.");
        assert_eq!(dns.ips, vec!["203.0.113.10"]);
        assert_eq!((dns.ttl, dns.rcode), (60, 0));
        assert_eq!(dns.observation_source, "proxy");
        assert_eq!(flow.egress_allowed_by[0].name, "backend-dns");
        let attribution = flow.attribution.unwrap();
        assert_eq!(
            attribution.rules[0].path,
            "spec.egress[0].toPorts[0].rules.dns[0]"
        );
    }

    #[test]
    #[allow(deprecated, reason = "the summary is Hubble's deprecated field")]
    fn summaries_read_like_hubble_s() {
        let mut q = record(DnsKind::Query, DnsVerdict::Forwarded);
        q.query = "api.partner.com.".into();
        q.qtypes = vec!["A".into()];
        assert_eq!(
            dns_flow(&q, "n", &getters()).summary,
            "DNS Query api.partner.com. A"
        );
        let mut a = q.clone();
        a.kind = DnsKind::Answer;
        a.answer = Some(crate::l7::DnsAnswer {
            ips: vec!["203.0.113.10".parse().unwrap()],
            ttl: 60,
            ..Default::default()
        });
        assert_eq!(
            dns_flow(&a, "n", &getters()).summary,
            "DNS Answer \"203.0.113.10\" TTL: 60 (Proxy api.partner.com. A)"
        );
        a.answer = Some(crate::l7::DnsAnswer {
            rcode: 5,
            ..Default::default()
        });
        assert_eq!(
            dns_flow(&a, "n", &getters()).summary,
            "DNS Answer RCode: Query Refused (Proxy api.partner.com. A)"
        );
    }

    #[test]
    fn a_refused_query_is_dropped_and_names_the_selecting_policies_and_the_closest_rule() {
        let mut r = record(DnsKind::Query, DnsVerdict::Refused);
        r.query = "www.partner.com.".into();
        let mut closest = rule("spec.egress[0].toPorts[0].rules.dns[0]");
        // The proxy's judgement does not know the revision the snapshot names.
        closest.policy.revision = 0;
        r.closest_rule = Some(closest);
        let flow = dns_flow(&r, "node", &getters());
        assert_eq!(flow.verdict(), Verdict::Dropped);
        assert_eq!(flow.is_reply, Some(false.into()));
        assert_eq!(flow.source.as_ref().unwrap().pod_name, "backend");
        assert!(flow.egress_allowed_by.is_empty());
        let attribution = flow.attribution.unwrap();
        assert_eq!(attribution.kind(), PolicyVerdictKind::DefaultDeny);
        assert_eq!(
            attribution.selecting_policies.len(),
            1,
            "one policy, not twice"
        );
        assert_eq!(
            attribution.closest_rule.unwrap().path,
            "spec.egress[0].toPorts[0].rules.dns[0]"
        );
    }

    #[test]
    fn dns_over_tcp_and_ipv6_keep_their_protocol_and_version() {
        let mut r = record(DnsKind::Query, DnsVerdict::Forwarded);
        r.tcp = true;
        r.client = "[2001:db8::5]:40000".parse().unwrap();
        r.server = "[2001:db8::53]:53".parse().unwrap();
        let flow = dns_flow(&r, "node", &Getters::default());
        assert!(matches!(
            flow.l4.unwrap().protocol,
            Some(layer4::Protocol::Tcp(Tcp {
                destination_port: 53,
                ..
            }))
        ));
        assert_eq!(flow.ip.unwrap().ip_version(), IpVersion::IPv6);
    }
}
