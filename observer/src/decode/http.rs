//! An HTTP proxy record as a Hubble `Type: L7` flow: `l7.http` (code, method, url,
//! protocol, headers), `l7.type` REQUEST or RESPONSE with `latency_ns`, both endpoints, and
//! the policy, which Hubble leaves empty on L7 flows (cilium#34531): the rule and HTTP
//! rule that allowed the request, or for a 403 the policies selecting the endpoint and
//! the HTTP rule that came closest.

use observe_proto::flow::{
    Attribution, Flow, Http, HttpHeader, L7FlowType, Layer7, PolicyVerdictKind, TrafficDirection,
    Verdict, layer7,
};

use super::l7::{End, L7Parts, l7_flow};
use super::policy::{l7_denial, policy, policy_rule};
use crate::getters::Getters;
use crate::l7::{HttpDirection, HttpKind, HttpRecord, HttpVerdict};

/// The flow of one HTTP record.
pub(super) fn http_flow(record: &HttpRecord, node_name: &str, getters: &Getters) -> Flow {
    let parts = L7Parts {
        time: record.time,
        verdict: verdict(record),
        client: End {
            addr: record.client,
            identity: record.client_identity,
        },
        server: End {
            addr: record.server,
            identity: record.server_identity,
        },
        reply: record.kind == HttpKind::Response,
        tcp: true,
        direction: direction(record.direction),
        l7: layer7(record),
        summary: summary(record),
    };
    let mut flow = l7_flow(parts, node_name, getters);
    attribute(record, &mut flow, getters);
    flow
}

/// Hubble's summaries: `HTTP/1.1 GET http://backend:8080/health` for a request,
/// `HTTP/1.1 200 2ms (GET http://backend:8080/health)` for a response.
fn summary(record: &HttpRecord) -> String {
    match record.kind {
        HttpKind::Request => format!("{} {} {}", record.protocol, record.method, record.url),
        HttpKind::Response => format!(
            "{} {} {}ms ({} {})",
            record.protocol,
            record.code,
            record.latency.map_or(0, |d| d.as_millis()),
            record.method,
            record.url
        ),
    }
}

/// A request is DROPPED when denied and ERROR when its upstream failed; the response the
/// client got (the proxy's 403 included) is FORWARDED, or ERROR for the proxy's 503.
fn verdict(record: &HttpRecord) -> Verdict {
    match (record.kind, record.verdict) {
        (HttpKind::Request, HttpVerdict::Denied) => Verdict::Dropped,
        (_, HttpVerdict::Error) => Verdict::Error,
        _ => Verdict::Forwarded,
    }
}

fn direction(d: HttpDirection) -> TrafficDirection {
    match d {
        HttpDirection::Egress => TrafficDirection::Egress,
        HttpDirection::Ingress => TrafficDirection::Ingress,
    }
}

fn layer7(record: &HttpRecord) -> Layer7 {
    Layer7 {
        r#type: match record.kind {
            HttpKind::Request => L7FlowType::Request,
            HttpKind::Response => L7FlowType::Response,
        }
        .into(),
        latency_ns: record
            .latency
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        record: Some(layer7::Record::Http(Http {
            code: record.code,
            method: record.method.clone(),
            url: record.url.clone(),
            protocol: record.protocol.clone(),
            headers: record
                .headers
                .iter()
                .map(|(key, value)| HttpHeader {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect(),
        })),
    }
}

/// The allowing rule, or for a denial the selecting policies and the closest rule.
fn attribute(record: &HttpRecord, flow: &mut Flow, getters: &Getters) {
    let dir = direction(record.direction);
    let l7_rule = record.l7_rule.clone().unwrap_or_default();
    match (&record.allowed_by, record.verdict) {
        (Some(rule), HttpVerdict::Forwarded | HttpVerdict::Error) => {
            let allowed = vec![policy(&rule.policy)];
            match record.direction {
                HttpDirection::Egress => flow.egress_allowed_by = allowed,
                HttpDirection::Ingress => flow.ingress_allowed_by = allowed,
            }
            flow.attribution = Some(Attribution {
                kind: PolicyVerdictKind::Allowed.into(),
                direction: dir.into(),
                rules: vec![policy_rule(rule)],
                l7_rule,
                ..Default::default()
            });
        }
        (_, HttpVerdict::Denied) => {
            flow.attribution = Some(l7_denial(
                getters.policies.as_ref(),
                record.endpoint_id,
                dir,
                record.closest_rule.as_ref(),
                l7_rule,
            ));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::getters::{PolicyInfo, RuleInfo};
    use observe_proto::flow::FlowType;

    fn record(kind: HttpKind, verdict: HttpVerdict) -> HttpRecord {
        HttpRecord {
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            kind,
            client: "10.0.1.5:41000".parse().unwrap(),
            server: "10.0.2.10:8080".parse().unwrap(),
            client_identity: 28664,
            server_identity: 54439,
            direction: HttpDirection::Ingress,
            endpoint_id: 7,
            method: "POST".into(),
            url: "http://backend:8080/admin".into(),
            protocol: "HTTP/1.1".into(),
            headers: vec![("host".into(), "backend:8080".into())],
            code: 0,
            verdict,
            latency: None,
            allowed_by: None,
            closest_rule: Some(RuleInfo {
                policy: PolicyInfo {
                    kind: "CiliumNetworkPolicy".into(),
                    namespace: "shop".into(),
                    name: "backend".into(),
                    revision: 0,
                },
                path: "spec.ingress[0]".into(),
            }),
            l7_rule: Some("GET /health".into()),
        }
    }

    #[test]
    #[allow(deprecated, reason = "the summary is Hubble's deprecated field")]
    fn a_denied_request_is_a_dropped_l7_request_naming_the_closest_rule() {
        let flow = http_flow(
            &record(HttpKind::Request, HttpVerdict::Denied),
            "node",
            &Getters::default(),
        );
        assert_eq!(flow.r#type(), FlowType::L7);
        assert_eq!(flow.verdict(), Verdict::Dropped);
        assert_eq!(flow.traffic_direction(), TrafficDirection::Ingress);
        assert_eq!(flow.summary, "HTTP/1.1 POST http://backend:8080/admin");
        let l7 = flow.l7.as_ref().unwrap();
        assert_eq!(l7.r#type(), L7FlowType::Request);
        let Some(layer7::Record::Http(http)) = &l7.record else {
            panic!("http")
        };
        assert_eq!((http.method.as_str(), http.code), ("POST", 0));
        assert_eq!(http.headers[0].key, "host");
        let a = flow.attribution.unwrap();
        assert_eq!(a.kind(), PolicyVerdictKind::DefaultDeny);
        assert_eq!(a.closest_rule.unwrap().path, "spec.ingress[0]");
        assert_eq!(a.l7_rule, "GET /health");
        assert_eq!(a.selecting_policies.len(), 1);
    }

    #[test]
    #[allow(deprecated, reason = "the summary is Hubble's deprecated field")]
    fn a_response_goes_back_with_its_code_and_latency() {
        let mut r = record(HttpKind::Response, HttpVerdict::Forwarded);
        r.method = "GET".into();
        r.url = "http://backend:8080/health".into();
        r.code = 200;
        r.latency = Some(Duration::from_micros(2_400));
        r.allowed_by = r.closest_rule.take();
        let flow = http_flow(&r, "node", &Getters::default());
        assert_eq!(flow.verdict(), Verdict::Forwarded);
        assert_eq!(flow.is_reply, Some(true.into()));
        assert_eq!(flow.ip.as_ref().unwrap().source, "10.0.2.10");
        assert_eq!(
            flow.summary,
            "HTTP/1.1 200 2ms (GET http://backend:8080/health)"
        );
        assert_eq!(flow.l7.as_ref().unwrap().latency_ns, 2_400_000);
        assert_eq!(flow.ingress_allowed_by[0].name, "backend");
        let error = http_flow(
            &record(HttpKind::Response, HttpVerdict::Error),
            "node",
            &Getters::default(),
        );
        assert_eq!(error.verdict(), Verdict::Error);
    }
}
