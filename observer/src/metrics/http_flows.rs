//! Hubble's `http` metric, from the HTTP proxy's L7 flows:
//!
//! - `hubble_http_requests_total{method,protocol,reporter}`: requests (L7 requests);
//! - `hubble_http_responses_total{method,protocol,status,reporter}`: responses, with the
//!   status the client got (the proxy's 403 and 503 included);
//! - `hubble_http_request_duration_seconds{method,reporter}`: request to response, a
//!   histogram with Prometheus's default buckets, as Hubble's.
//!
//! `reporter` is `client` when the client's egress policy decided and `server` when the
//! server's ingress policy did (Hubble: which side of the proxy observed it).

use observe_proto::flow::{Flow, Http, L7FlowType, TrafficDirection, layer7};

use super::series::CounterVec;
use super::text::{Encoder, Kind};
use super::{Handler, Plugin};

/// The plugin.
pub(super) const PLUGIN: Plugin = Plugin {
    name: "http",
    new: || Box::new(HttpHandler::default()),
};

/// Prometheus's default histogram buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Distinct (method, reporter) histograms kept; beyond, method `other`.
const DURATION_SERIES: usize = 64;

#[derive(Default)]
struct HttpHandler {
    requests: CounterVec<(String, String, &'static str)>,
    responses: CounterVec<(String, String, u32, &'static str)>,
    durations: Vec<((String, &'static str), Buckets)>,
}

#[derive(Default)]
struct Buckets {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Buckets {
    fn record(&mut self, seconds: f64) {
        for (bound, n) in BUCKETS.iter().zip(&mut self.counts) {
            if seconds <= *bound {
                *n += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

fn reporter(flow: &Flow) -> &'static str {
    match flow.traffic_direction() {
        TrafficDirection::Ingress => "server",
        _ => "client",
    }
}

impl HttpHandler {
    fn duration(&mut self, method: &str, reporter: &'static str, seconds: f64) {
        let known = self
            .durations
            .iter()
            .position(|((m, r), _)| m == method && *r == reporter);
        let at = match known {
            Some(i) => i,
            None if self.durations.len() < DURATION_SERIES => {
                self.durations
                    .push(((method.to_string(), reporter), Buckets::default()));
                self.durations.len() - 1
            }
            None => match self
                .durations
                .iter()
                .position(|((m, r), _)| m == "other" && *r == reporter)
            {
                Some(i) => i,
                None => {
                    self.durations
                        .push((("other".into(), reporter), Buckets::default()));
                    self.durations.len() - 1
                }
            },
        };
        self.durations[at].1.record(seconds);
    }

    fn response(&mut self, flow: &Flow, http: &Http, latency_ns: u64) {
        let reporter = reporter(flow);
        self.responses.inc((
            http.method.clone(),
            http.protocol.clone(),
            http.code,
            reporter,
        ));
        self.duration(&http.method, reporter, latency_ns as f64 / 1e9);
    }
}

impl Handler for HttpHandler {
    fn process_flow(&mut self, flow: &Flow) {
        let Some(l7) = &flow.l7 else { return };
        let Some(layer7::Record::Http(http)) = &l7.record else {
            return;
        };
        match l7.r#type() {
            L7FlowType::Request => {
                self.requests
                    .inc((http.method.clone(), http.protocol.clone(), reporter(flow)))
            }
            L7FlowType::Response => self.response(flow, http, l7.latency_ns),
            _ => {}
        }
    }

    fn encode(&self, out: &mut Encoder) {
        self.requests.encode(
            out,
            ("hubble_http_requests_total", "Count of HTTP requests"),
            ["method", "protocol", "reporter"],
            |(m, p, r)| [m.clone(), p.clone(), (*r).to_string()],
        );
        self.responses.encode(
            out,
            ("hubble_http_responses_total", "Count of HTTP responses"),
            ["method", "protocol", "status", "reporter"],
            |(m, p, s, r)| [m.clone(), p.clone(), s.to_string(), (*r).to_string()],
        );
        const DURATION: &str = "hubble_http_request_duration_seconds";
        out.family(
            DURATION,
            Kind::Histogram,
            "Quantiles of HTTP request duration in seconds",
        );
        let mut series: Vec<_> = self.durations.iter().collect();
        series.sort_by(|a, b| a.0.cmp(&b.0));
        for ((method, reporter), b) in series {
            let buckets: Vec<(f64, u64)> = BUCKETS.iter().copied().zip(b.counts).collect();
            out.histogram(
                DURATION,
                &[("method", method), ("reporter", reporter)],
                &buckets,
                b.sum,
                b.count,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use observe_proto::flow::Layer7;

    use super::*;

    fn flow(kind: L7FlowType, code: u32, latency_ns: u64, direction: TrafficDirection) -> Flow {
        Flow {
            traffic_direction: direction.into(),
            l7: Some(Layer7 {
                r#type: kind.into(),
                latency_ns,
                record: Some(layer7::Record::Http(Http {
                    code,
                    method: "GET".into(),
                    url: "http://a/health".into(),
                    protocol: "HTTP/1.1".into(),
                    headers: vec![],
                })),
            }),
            ..Flow::default()
        }
    }

    #[test]
    fn requests_responses_and_durations_in_hubble_s_families() {
        let mut h = HttpHandler::default();
        h.process_flow(&flow(L7FlowType::Request, 0, 0, TrafficDirection::Ingress));
        h.process_flow(&flow(
            L7FlowType::Response,
            403,
            2_000_000,
            TrafficDirection::Ingress,
        ));
        h.process_flow(&flow(
            L7FlowType::Response,
            200,
            30_000_000,
            TrafficDirection::Egress,
        ));
        let mut out = Encoder::new();
        h.encode(&mut out);
        let text = out.finish();
        for line in [
            "hubble_http_requests_total{method=\"GET\",protocol=\"HTTP/1.1\",reporter=\"server\"} 1",
            "hubble_http_responses_total{method=\"GET\",protocol=\"HTTP/1.1\",status=\"403\",reporter=\"server\"} 1",
            "hubble_http_responses_total{method=\"GET\",protocol=\"HTTP/1.1\",status=\"200\",reporter=\"client\"} 1",
            "hubble_http_request_duration_seconds_bucket{method=\"GET\",reporter=\"server\",le=\"0.005\"} 1",
            "hubble_http_request_duration_seconds_bucket{method=\"GET\",reporter=\"client\",le=\"0.025\"} 0",
            "hubble_http_request_duration_seconds_bucket{method=\"GET\",reporter=\"client\",le=\"0.05\"} 1",
            "hubble_http_request_duration_seconds_count{method=\"GET\",reporter=\"client\"} 1",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
