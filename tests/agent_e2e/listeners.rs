//! The agent's listeners and optional outputs, on the real `observerd`: a group-owned
//! 0660 socket with health and reflection, the TCP listener with mutual TLS, the metrics
//! endpoint scraped after real drops, the export file, and history that outlives a
//! restart. Plus the refusals that need no root: plaintext TCP without `--insecure`.

use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lab::pki::Pki;
use observe_proto::client::{TlsOptions, connect_with};
use observe_proto::flow::{DropReason, PolicyVerdictKind, Verdict};
use observe_proto::observer::get_flows_response::ResponseTypes;
use observe_proto::observer::observer_client::ObserverClient;
use observe_proto::observer::{GetFlowsRequest, GetFlowsResponse, ServerStatusRequest};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::common::*;

/// Runs `observerd` with `args` (and a node name) expecting it to refuse; its stderr.
fn refused(args: &[&str]) -> String {
    let out = Command::new(observerd())
        .args(["--node-name", "refusal-test"])
        .args(args)
        .output()
        .expect("run observerd");
    assert!(!out.status.success(), "observerd accepted {args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn plaintext_tcp_needs_an_explicit_insecure() {
    let err = refused(&["--listen-address", "127.0.0.1:4244"]);
    assert!(
        err.contains("refusing to serve plaintext gRPC") && err.contains("--insecure"),
        "{err}"
    );
    let err = refused(&["--tls-cert-file", "c.pem", "--tls-key-file", "k.pem"]);
    assert!(err.contains("only apply to --listen-address"), "{err}");
    let err = refused(&[
        "--listen-address",
        "127.0.0.1:1",
        "--tls-cert-file",
        "c.pem",
    ]);
    assert!(err.contains("--tls-key-file"), "{err}");
    let err = refused(&[
        "--listen-address",
        "127.0.0.1:1",
        "--insecure",
        "--tls-cert-file",
        "c.pem",
        "--tls-key-file",
        "k.pem",
    ]);
    assert!(err.contains("cannot be used with"), "{err}");
    let err = refused(&["--metrics-address", "not an address"]);
    assert!(err.contains("invalid --metrics-address"), "{err}");
}

/// The address a listener reports in the agent's log (`<prefix>ADDR<suffix>`).
fn logged_address(c: &Cluster, prefix: &str, suffix: char) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = c.log();
        if let Some(rest) = log.split(prefix).nth(1) {
            return rest.split(suffix).next().unwrap_or_default().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no {prefix:?} in the log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `f` on a thread inside the node's network namespace (the agent's loopback).
fn in_node<T: Send>(c: &Cluster, f: impl FnOnce() -> T + Send) -> T {
    lab::in_netns(&c.node.netns, f).expect("enter the node namespace")
}

/// `GET /metrics` from inside the node.
fn scrape(c: &Cluster, addr: &str) -> String {
    in_node(c, || {
        let mut stream = std::net::TcpStream::connect(addr).expect("metrics endpoint");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: observerd\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        response.split_once("\r\n\r\n").unwrap().1.to_string()
    })
}

/// The value of `name{labels}` (labels in the order the agent writes them).
fn sample(page: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{name}{{{labels}}} ");
    page.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.parse().ok())
}

/// ServerStatus over the TCP listener, from inside the node.
fn status_over_tcp(c: &Cluster, addr: &str, tls: TlsOptions) -> Result<u64, String> {
    let server = format!("tls://{addr}");
    in_node(c, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let channel = connect_with(&server, Duration::from_secs(5), &tls)
                .await
                .map_err(|e| e.to_string())?;
            ObserverClient::new(channel)
                .server_status(ServerStatusRequest {})
                .await
                .map(|s| s.into_inner().max_flows)
                .map_err(|e| format!("{e:?}"))
        })
    })
}

fn first_flows(c: &Cluster, number: u64) -> Vec<GetFlowsResponse> {
    let mut client = ObserverClient::new(c.channel());
    let request = GetFlowsRequest {
        first: true,
        number,
        ..Default::default()
    };
    c.rt.block_on(async {
        let mut stream = client.get_flows(request).await.unwrap().into_inner();
        let mut out = Vec::new();
        while let Ok(Some(r)) = stream.message().await {
            out.push(r);
        }
        out
    })
}

fn is_default_deny_to(r: &GetFlowsResponse, port: u32) -> bool {
    let Some(ResponseTypes::Flow(f)) = &r.response_types else {
        return false;
    };
    let dport =
        f.l4.as_ref()
            .and_then(|l4| match &l4.protocol {
                Some(observe_proto::flow::layer4::Protocol::Tcp(t)) => Some(t.destination_port),
                _ => None,
            })
            .unwrap_or_default();
    f.verdict() == Verdict::Dropped
        && f.drop_reason_desc() == DropReason::PolicyDenied
        && dport == port
        && f.attribution.as_ref().map(|a| a.kind()) == Some(PolicyVerdictKind::DefaultDeny)
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_agent_serves_mtls_metrics_export_and_history_across_a_restart() {
    let pki = Pki::generate("agent");
    let out = pki.dir().to_path_buf();
    let export = out.join("flows.json");
    let history = out.join("history");
    let (cert, key, ca) = (
        pki.server_cert.display().to_string(),
        pki.server_key.display().to_string(),
        pki.ca.display().to_string(),
    );
    let (export_arg, history_arg) = (export.display().to_string(), history.display().to_string());
    let args = [
        "--trace",
        "off",
        "--socket-group",
        "4242",
        "--listen-address",
        "127.0.0.1:0",
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-client-ca-files",
        &ca,
        "--metrics-address",
        "127.0.0.1:0",
        "--export-file",
        &export_arg,
        "--export-allowlist",
        r#"{"verdict":["DROPPED"]}"#,
        "--history-dir",
        &history_arg,
        "--history-max-size-mb",
        "4",
    ];
    let Some(mut c) = Cluster::with_agent_args("e2elisten", &args) else {
        return;
    };

    // The unix socket: 0660, group 4242, with health and reflection next to the APIs.
    let socket = c.server();
    let meta = std::fs::metadata(socket.trim_start_matches("unix://")).unwrap();
    assert_eq!((meta.mode() & 0o777, meta.gid()), (0o660, 4242));
    let mut health = HealthClient::new(c.channel());
    // `hubble status` asks for `hubble.server.Observer`.
    for service in [
        "",
        "observer.Observer",
        "hubble.server.Observer",
        "observe.control.v1.Control",
    ] {
        let reply =
            c.rt.block_on(health.check(HealthCheckRequest {
                service: service.into(),
            }))
            .unwrap()
            .into_inner();
        assert_eq!(reply.status, 1, "{service:?} is SERVING");
    }

    // Real drops: a default deny (no rule allows 9090) and an explicit one.
    c.apply(POLICIES).expect("policies");
    let _servers = c.serve("server", &[9090, 7070], &[]);
    assert!(!c.reaches("client", "server", "tcp", 9090, false));
    assert!(!c.reaches("intruder", "server", "tcp", 7070, false));

    // TCP with mutual TLS, from inside the node.
    let tcp = logged_address(&c, "serving the observer API on ", ' ');
    let with_cert = TlsOptions {
        ca_cert_files: vec![pki.ca.clone()],
        client_cert_file: Some(pki.client_cert.clone()),
        client_key_file: Some(pki.client_key.clone()),
        ..TlsOptions::default()
    };
    assert_eq!(status_over_tcp(&c, &tcp, with_cert), Ok(4095));
    let without_cert = TlsOptions {
        ca_cert_files: vec![pki.ca.clone()],
        ..TlsOptions::default()
    };
    let err = status_over_tcp(&c, &tcp, without_cert).unwrap_err();
    // The server's alert, or (when the request raced the alert) the pipe or connection
    // it closed: either way the handshake failed and no RPC reached the service.
    assert!(
        err.contains("CertificateRequired") || err.contains("transport"),
        "{err}"
    );

    // Metrics after the drops, with the policy that decided them.
    let metrics = logged_address(&c, "serving metrics on http://", '/');
    let mut page = String::new();
    wait_for("drop metrics", || {
        page = scrape(&c, &metrics);
        sample(
            &page,
            "hubble_drop_total",
            r#"reason="POLICY_DENY",protocol="TCP",policy="e2e/server-ingress""#,
        )
        .is_some()
    });
    assert!(
        sample(
            &page,
            "hubble_drop_total",
            r#"reason="POLICY_DENIED",protocol="TCP",policy="e2e/server-ingress""#
        ) >= Some(1.0),
        "{page}"
    );
    for map in ["endpoints", "policy", "ipcache", "conntrack"] {
        assert!(
            sample(
                &page,
                "observerd_datapath_map_capacity",
                &format!(r#"map="{map}""#)
            ) > Some(0.0),
            "{map}: {page}"
        );
    }
    assert!(page.contains("# TYPE observerd_pipeline_latency_seconds histogram"));
    assert!(page.contains(r#"hubble_lost_events_total{source="perf_event_ring_buffer"}"#));

    // The export file holds the drops (and only drops), as replayable lines.
    wait_for("exported drops", || {
        lines(&export).iter().any(|r| is_default_deny_to(r, 9090))
    });
    assert!(lines(&export).iter().all(|r| match &r.response_types {
        Some(ResponseTypes::Flow(f)) => f.verdict() == Verdict::Dropped,
        _ => true,
    }));

    // History outlives the agent: after a restart the ring is empty, the drop is not.
    c.stop_agent();
    c.start_agent();
    let before_restart = first_flows(&c, 200);
    assert!(
        before_restart.iter().any(|r| is_default_deny_to(r, 9090)),
        "the drop from before the restart comes from disk"
    );
}

fn lines(path: &Path) -> Vec<GetFlowsResponse> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
