//! `observe flows` and `observe status` against an in-process agent: the real service
//! on a unix socket, its flow ring filled directly with the fixture's flows.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use observe_proto::flow::Flow;
use observe_proto::observer::GetFlowsResponse;
use observe_proto::observer::get_flows_response::ResponseTypes;
use observer::event::DecodedEvent;
use observer::namespaces::Namespaces;
use observer::pipeline::ObserverState;
use observer::ring::{Capacity, Ring, RingWriter};
use observer::server::{ObserverService, serve_unix};
use observer::stats::Stats;

use crate::util::{fixture, observe, stdout};

type Writer = RingWriter<Arc<DecodedEvent>>;

/// An agent serving a ring on a fresh socket until dropped.
struct Agent {
    // Removed after the agent stops (fields drop after `Drop::drop`).
    _dir: tempfile::TempDir,
    socket: PathBuf,
    writer: Mutex<Writer>,
    runtime: Option<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Agent {
    fn start(flows: &[Flow]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("observe-cli-live-")
            .tempdir()
            .unwrap();
        let socket = dir.path().join("observer.sock");
        let (ring, mut writer) = Ring::new(Capacity::new(63).unwrap());
        for flow in flows {
            writer.write(Arc::new(DecodedEvent::flow(flow.clone())));
        }
        let state = ObserverState {
            ring,
            stats: Arc::new(Stats::new()),
            namespaces: Arc::new(Namespaces::default()),
            node_name: "node-1".into(),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let path = socket.clone();
        runtime.spawn(async move {
            let service = ObserverService::new(state).with_version("test-1.0");
            let _ = serve_unix(service, &path, async {
                let _ = stopped.await;
            })
            .await;
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        Self {
            _dir: dir,
            socket,
            writer: Mutex::new(writer),
            runtime: Some(runtime),
            stop: Some(stop),
        }
    }

    fn server(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    fn observe(&self, args: &[&str]) -> Command {
        let mut cmd = observe();
        cmd.args(args).arg("--server").arg(self.server());
        cmd
    }

    fn write(&self, flow: Flow) {
        self.writer
            .lock()
            .unwrap()
            .write(Arc::new(DecodedEvent::flow(flow)));
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// The fixture's flows (responses and bare flows; not its loss report).
fn fixture_flows() -> Vec<Flow> {
    let text = std::fs::read_to_string(fixture()).unwrap();
    let mut flows = Vec::new();
    for line in text.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        if value.get("lost_events").is_some() {
            continue;
        }
        match value.get("flow") {
            Some(flow) => flows.push(serde_json::from_value(flow.clone()).unwrap()),
            None => flows.push(serde_json::from_value(value).unwrap()),
        }
    }
    flows
}

/// The uuids a jsonpb output names.
fn uuids(jsonpb: &str) -> Vec<String> {
    jsonpb
        .lines()
        .map(|l| {
            let r: GetFlowsResponse = serde_json::from_str(l).unwrap();
            match r.response_types {
                Some(ResponseTypes::Flow(f)) => f.uuid,
                _ => "lost".into(),
            }
        })
        .collect()
}

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

#[test]
fn last_first_and_filters_select_like_a_replay() {
    let agent = Agent::start(&fixture_flows());
    let last = stdout(
        &agent
            .observe(&["flows", "--last", "2", "-o", "jsonpb"])
            .output()
            .unwrap(),
    );
    assert_eq!(uuids(&last).len(), 2);
    let first = stdout(
        &agent
            .observe(&["flows", "--first", "2", "-o", "jsonpb"])
            .output()
            .unwrap(),
    );
    assert_eq!(uuids(&first), [id(1), id(2)]);
    // The same flags print the same lines live and replayed.
    for args in [
        &["--verdict", "DROPPED"][..],
        &["--not", "--verdict", "FORWARDED", "--print-node-name"],
        &["--to-pod", "shop/db", "--last", "1"],
        &["-n", "kube-system"],
    ] {
        let mut live_args = vec!["flows"];
        live_args.extend_from_slice(args);
        let live = stdout(&agent.observe(&live_args).output().unwrap());
        let replayed = stdout(&crate::util::replay(args));
        let replayed: String = replayed
            .lines()
            .filter(|l| !l.contains("EVENTS LOST"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(live, replayed, "{args:?}");
    }
}

#[test]
fn default_is_the_last_20() {
    let flows: Vec<Flow> = (1..=30)
        .map(|n| Flow {
            uuid: id(n),
            ..fixture_flows()[0].clone()
        })
        .collect();
    let agent = Agent::start(&flows);
    let out = stdout(&agent.observe(&["flows", "-o", "jsonpb"]).output().unwrap());
    let got = uuids(&out);
    assert_eq!(got.len(), 20);
    assert_eq!(got[0], id(11));
}

#[test]
fn follow_prints_new_flows_and_stops_quietly_when_the_pipe_closes() {
    let agent = Agent::start(&[]);
    let mut child = agent
        .observe(&["flows", "--follow", "-o", "jsonpb"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let template = fixture_flows()[0].clone();
    // Flows written while following arrive (retry: the stream may not be open yet).
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        for line in lines.by_ref().take(2) {
            got.push(line.unwrap());
        }
        (got, lines)
    });
    let mut n = 100;
    while !reader.is_finished() && Instant::now() < deadline {
        agent.write(Flow {
            uuid: id(n),
            ..template.clone()
        });
        n += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let (got, lines) = reader.join().unwrap();
    seen.extend(got);
    assert_eq!(seen.len(), 2);
    // Closing the reading end: the next write fails with EPIPE and observe exits 0.
    drop(lines);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        agent.write(Flow {
            uuid: id(n),
            ..template.clone()
        });
        n += 1;
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "observe did not stop on a closed pipe"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(stderr, "", "a closed pipe is not an error");
}

#[test]
fn status_reports_the_ring_and_the_node() {
    let agent = Agent::start(&fixture_flows()[..5]);
    let out = stdout(&agent.observe(&["status"]).output().unwrap());
    assert!(
        out.starts_with("Current/Max Flows: 5/63 (7.94%)\n"),
        "{out}"
    );
    assert!(out.contains("Version: test-1.0\n"), "{out}");
    assert!(
        out.contains("Node: node-1 (NODE_CONNECTED, 5/63 flows)\n"),
        "{out}"
    );
    assert!(out.contains("Lost Events: none\n"), "{out}");
    let json: serde_json::Value = serde_json::from_str(&stdout(
        &agent.observe(&["status", "-o", "json"]).output().unwrap(),
    ))
    .unwrap();
    assert_eq!(json["max_flows"], "63");
}

#[test]
fn a_filter_the_server_rejects_is_one_line() {
    let agent = Agent::start(&[]);
    // CEL is valid protobuf but not evaluated: caught before dialing, like any bad filter.
    let out = agent
        .observe(&[
            "flows",
            "--allowlist",
            r#"{"experimental":{"cel_expression":["true"]}}"#,
        ])
        .output()
        .unwrap();
    crate::util::assert_one_line_error(&out, 1, &["invalid filter", "cel"]);
}
