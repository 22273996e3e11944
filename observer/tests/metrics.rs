//! Metrics end to end: datapath events through the decoder and the pipeline, the metrics
//! hook, and a real HTTP scrape of the endpoint, parsed strictly as the Prometheus text
//! format (every sample belongs to a declared family, histograms are cumulative).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use observer::decode::{BootClock, Decoder};
use observer::event::{MonitorEvent, Payload};
use observer::getters::{FakePolicyGetter, PolicyInfo, RuleInfo};
use observer::metrics::{MapGauges, MapOccupancy, Metrics};
use observer::pipeline::{Pipeline, PipelineConfig};
use probe_common::conntrack::state;
use probe_common::event::{FlowEvent, kind, obs_point};
use probe_common::{direction, drop_reason};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn policy(namespace: &str, name: &str) -> PolicyInfo {
    PolicyInfo {
        kind: "CiliumNetworkPolicy".into(),
        namespace: namespace.into(),
        name: name.into(),
        revision: 1,
    }
}

fn policies() -> FakePolicyGetter {
    FakePolicyGetter {
        on_rules_by_cookie: Some(Box::new(|cookie| match cookie {
            1 => vec![RuleInfo {
                policy: policy("shop", "allow-frontend"),
                path: "spec.ingress[0]".into(),
            }],
            2 => vec![RuleInfo {
                policy: policy("shop", "deny-intruder"),
                path: "spec.ingressDeny[0]".into(),
            }],
            _ => vec![],
        })),
        on_auditing_policies: Some(Box::new(|_| Vec::new())),
        on_selecting_policies: Some(Box::new(|_| vec![policy("shop", "db-ingress")])),
    }
}

/// A TCP event 1 ms old at the boot clock used below.
fn event(kind: u8, subtype: u8, cookie: u32, dport: u16) -> MonitorEvent {
    MonitorEvent {
        timestamp: SystemTime::now(),
        node_name: "node-1".into(),
        payload: Payload::Flow(FlowEvent {
            timestamp_ns: 999_000_000,
            kind,
            subtype,
            reason: if kind == kind::DROP { subtype } else { 0 },
            direction: direction::INGRESS,
            family: 4,
            protocol: 6,
            tcp_flags: 0x02,
            ct_state: state::NEW,
            match_type: 2,
            endpoint_id: 3,
            sport: 40_000,
            dport,
            cookie,
            saddr: [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            daddr: [10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ..FlowEvent::default()
        }),
    }
}

/// One sample of a scrape.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed page: family types and samples.
#[derive(Debug, Default)]
struct Page {
    types: HashMap<String, String>,
    samples: Vec<Sample>,
}

impl Page {
    /// Strict parse of the text format; panics with the offending line.
    fn parse(text: &str) -> Self {
        let mut page = Page::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect(line);
                assert!(
                    ["counter", "gauge", "histogram"].contains(&kind),
                    "type: {line}"
                );
                assert!(
                    page.types.insert(name.into(), kind.into()).is_none(),
                    "family declared twice: {line}"
                );
            } else if line.starts_with("# HELP ") || line.is_empty() {
                continue;
            } else {
                let sample = parse_sample(line);
                let family = family_of(&sample.name, &page.types);
                assert!(page.types.contains_key(&family), "undeclared: {line}");
                page.samples.push(sample);
            }
        }
        page
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == wanted)
            .map(|s| s.value)
    }
}

fn family_of(name: &str, types: &HashMap<String, String>) -> String {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && types.get(base).map(String::as_str) == Some("histogram")
        {
            return base.to_string();
        }
    }
    name.to_string()
}

fn parse_sample(line: &str) -> Sample {
    let name_end = line.find(['{', ' ']).expect(line);
    let name = &line[..name_end];
    assert!(
        name.chars().enumerate().all(|(i, c)| c == '_'
            || c == ':'
            || c.is_ascii_alphabetic()
            || (i > 0 && c.is_ascii_digit())),
        "metric name: {line}"
    );
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices();
        let mut key = String::new();
        loop {
            let (_, c) = chars.next().expect(line);
            match c {
                '}' => break,
                ',' => continue,
                '=' => {
                    assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                    let mut value = String::new();
                    loop {
                        match chars.next().expect(line).1 {
                            '\\' => match chars.next().expect(line).1 {
                                'n' => value.push('\n'),
                                c => value.push(c),
                            },
                            '"' => break,
                            c => value.push(c),
                        }
                    }
                    labels.insert(std::mem::take(&mut key), value);
                }
                c => key.push(c),
            }
        }
        let consumed = chars.next().map_or(inner.len(), |(i, _)| i);
        rest = &inner[consumed..];
    }
    let value = rest.trim();
    let value = match value {
        "+Inf" => f64::INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("value: {line}")),
    };
    Sample {
        name: name.into(),
        labels,
        value,
    }
}

/// GET `path` over a fresh connection: status line, headers, body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (String, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: metrics\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a head");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.into(), headers.into(), body.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_of_the_endpoint_reports_hubble_families_and_agent_health() {
    let boot = SystemTime::now() - Duration::from_secs(1);
    let decoder = Decoder::new(BootClock::new(boot)).with_policies(Arc::new(policies()));
    let (mut pipeline, sender) = Pipeline::new(PipelineConfig::new("node-1"), decoder);
    let state = pipeline.state();
    let maps = MapGauges::default();
    maps.set(vec![MapOccupancy {
        map: "policy",
        entries: 12,
        capacity: 262_144,
    }]);
    let metrics = Metrics::new(&[])
        .unwrap()
        .with_pipeline(&state, 1024)
        .with_maps(maps);
    pipeline.add_hook(metrics.hook());
    let running = tokio::spawn(pipeline.run());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(observer::metrics::page::serve(
        listener,
        Arc::new(metrics),
        async {
            let _ = stopped.await;
        },
    ));

    let events = [
        event(kind::DROP, drop_reason::POLICY_DENIED, 0, 5432),
        event(kind::DROP, drop_reason::POLICY_DENIED, 0, 5432),
        event(kind::DROP, drop_reason::POLICY_DENIED, 0, 5432),
        event(kind::DROP, drop_reason::POLICY_DENY, 2, 22),
        event(kind::POLICY_VERDICT, 0, 1, 80),
        event(kind::TRACE, obs_point::TO_ENDPOINT, 1, 80),
        event(kind::TRACE, obs_point::TO_ENDPOINT, 1, 80),
    ];
    let total = events.len() as u64;
    for e in events {
        sender.send(e).unwrap();
    }
    sender.send_kernel_loss(5, None).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while state.stats.counters().decoded < total {
        assert!(tokio::time::Instant::now() < deadline, "pipeline stalled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let (status, headers, body) = get(addr, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("Content-Type: text/plain; version=0.0.4"),
        "{headers}"
    );
    assert!(headers.contains(&format!("Content-Length: {}", body.len())));
    let page = Page::parse(&body);
    let v = |name: &str, labels: &[(&str, &str)]| page.value(name, labels);
    assert_eq!(
        v(
            "hubble_drop_total",
            &[
                ("reason", "POLICY_DENIED"),
                ("protocol", "TCP"),
                ("policy", "shop/db-ingress")
            ]
        ),
        Some(3.0),
        "default denies name the selecting policy"
    );
    assert_eq!(
        v(
            "hubble_drop_total",
            &[
                ("reason", "POLICY_DENY"),
                ("protocol", "TCP"),
                ("policy", "shop/deny-intruder")
            ]
        ),
        Some(1.0),
        "explicit denies name the deny rule's policy"
    );
    assert_eq!(
        v(
            "hubble_policy_verdicts_total",
            &[
                ("direction", "ingress"),
                ("match", "l3-l4"),
                ("action", "forwarded"),
                ("policy", "shop/allow-frontend")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "hubble_flows_processed_total",
            &[
                ("protocol", "TCP"),
                ("type", "Trace"),
                ("subtype", "to-endpoint"),
                ("verdict", "FORWARDED")
            ]
        ),
        Some(2.0)
    );
    assert_eq!(
        v(
            "hubble_port_distribution_total",
            &[("protocol", "TCP"), ("port", "80")]
        ),
        Some(3.0),
        "the verdict and both traces"
    );
    assert_eq!(
        v(
            "hubble_tcp_flags_total",
            &[("flag", "SYN"), ("family", "IPv4")]
        ),
        Some(3.0)
    );
    assert_eq!(
        v(
            "hubble_lost_events_total",
            &[("source", "perf_event_ring_buffer")]
        ),
        Some(5.0)
    );
    assert_eq!(
        v(
            "hubble_lost_events_total",
            &[("source", "observer_events_queue")]
        ),
        Some(0.0)
    );
    assert_eq!(v("observerd_flows_ring_capacity", &[]), Some(4095.0));
    assert!(v("observerd_flows_ring_entries", &[]) >= Some(total as f64));
    assert_eq!(v("observerd_event_queue_capacity", &[]), Some(1024.0));
    assert_eq!(
        v("observerd_events_total", &[("outcome", "decoded")]),
        Some(total as f64)
    );
    assert_eq!(
        v("observerd_datapath_map_entries", &[("map", "policy")]),
        Some(12.0)
    );
    assert_eq!(page.types["hubble_icmp_total"], "counter");

    // The latency histogram: cumulative buckets ending in +Inf = count.
    let name = "observerd_pipeline_latency_seconds";
    let buckets: Vec<(f64, f64)> = page
        .samples
        .iter()
        .filter(|s| s.name == format!("{name}_bucket"))
        .map(|s| {
            let le = match s.labels["le"].as_str() {
                "+Inf" => f64::INFINITY,
                le => le.parse().unwrap(),
            };
            (le, s.value)
        })
        .collect();
    assert!(buckets.len() > 5);
    assert!(
        buckets
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
    );
    let count = v(&format!("{name}_count"), &[]).unwrap();
    assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, count));
    assert_eq!(count, total as f64);
    assert!(v(&format!("{name}_sum"), &[]).unwrap() > 0.0);

    let (health, _, body) = get(addr, "/healthz").await;
    assert_eq!(
        (health.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "ok\n")
    );
    let (missing, _, _) = get(addr, "/nope").await;
    assert_eq!(missing, "HTTP/1.1 404 Not Found");

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    drop(sender);
    running.await.unwrap();
}
