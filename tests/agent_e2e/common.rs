//! The test cluster: a lab node, a running agent with its own socket, state and pins, and
//! helpers to apply manifests, find endpoints, probe traffic and read flows.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use lab::{BpffsDir, Lab, NodeRef};
use observe_proto::control::control_client::ControlClient;
use observe_proto::control::{
    ApplyRequest, DeleteRequest, Endpoint, GetEndpointsRequest, Manifest, TraceRequest,
};
use observe_proto::flow::{Flow, FlowFilter};
use observe_proto::observer::GetFlowsRequest;
use observe_proto::observer::get_flows_response::ResponseTypes;
use observe_proto::observer::observer_client::ObserverClient;
use tonic::transport::Channel;

/// Pods and policies every test starts from: a client, a server and an intruder in
/// namespace `e2e`, dual stack.
pub const PODS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: e2e}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: e2e, labels: {app: client}}
status: {podIPs: [{ip: 10.77.0.1}, {ip: "fd00:77::1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: e2e, labels: {app: server}}
status: {podIPs: [{ip: 10.77.0.2}, {ip: "fd00:77::2"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: intruder, namespace: e2e, labels: {app: intruder}}
status: {podIPs: [{ip: 10.77.0.3}, {ip: "fd00:77::3"}]}
"#;

/// The server accepts the client on TCP 8080, UDP 5353 and ICMP echo, everyone on TCP
/// 7070, and never the intruder; the client accepts nothing (its replies still pass).
pub const POLICIES: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: server-ingress, namespace: e2e}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}, {port: "5353", protocol: UDP}]}]
  - fromEndpoints: [{matchLabels: {app: client}}]
    icmps: [{fields: [{type: EchoRequest}, {type: EchoRequest, family: IPv6}]}]
  - fromEntities: [all]
    toPorts: [{ports: [{port: "7070", protocol: TCP}]}]
  ingressDeny:
  - fromEndpoints: [{matchLabels: {app: intruder}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: client-lockdown, namespace: e2e}
spec:
  endpointSelector: {matchLabels: {app: client}}
  ingress:
  - {}
"#;

/// Addresses of the pods.
pub fn ip(pod: &str, v6: bool) -> IpAddr {
    let n = match pod {
        "client" => 1,
        "server" => 2,
        _ => 3,
    };
    let s = if v6 {
        format!("fd00:77::{n}")
    } else {
        format!("10.77.0.{n}")
    };
    s.parse().expect("valid address")
}

/// The `observerd` binary: observer's own build when this harness is compiled into one of
/// its benchmarks (`observer/benches/pipeline.rs`), else `$OBSERVERD_BIN` (`cargo xtask
/// test` sets it) or observer's `observerd` built with the `agent` feature.
pub fn observerd() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| match option_env!("CARGO_BIN_EXE_observerd") {
            Some(path) => path.into(),
            None => lab::workspace_binary_with_features(
                "OBSERVERD_BIN",
                "observer",
                "observerd",
                &["agent"],
            ),
        })
        .clone()
}

/// Probe timeout: long enough for a loaded CI machine, short enough for many probes.
pub const TIMEOUT: Duration = Duration::from_millis(800);

/// A lab node with a running agent. The agent's methods (apply, flows, trace, ...) are
/// the cluster's through `Deref`.
pub struct Cluster {
    pub agent: AgentProcess,
    pub node: NodeRef,
    // Dropped last: takes every namespace of the run down.
    pub lab: Lab,
}

impl std::ops::Deref for Cluster {
    type Target = AgentProcess;
    fn deref(&self) -> &AgentProcess {
        &self.agent
    }
}

impl std::ops::DerefMut for Cluster {
    fn deref_mut(&mut self) -> &mut AgentProcess {
        &mut self.agent
    }
}

impl Cluster {
    /// A cluster with the agent started and [`PODS`] applied; `None` without root.
    pub fn new(tag: &str) -> Option<Self> {
        Self::with_agent_args(tag, &["--trace", "off"])
    }

    /// Like [`Cluster::new`], with extra `observerd` arguments.
    pub fn with_agent_args(tag: &str, agent_args: &[&str]) -> Option<Self> {
        if !lab::require_root() {
            return None;
        }
        let mut lab = Lab::new(tag).expect("lab");
        let node = lab.add_node("node").expect("node");
        let mut args: Vec<String> = ["--node-name", "node"].map(String::from).to_vec();
        args.extend(agent_args.iter().map(ToString::to_string));
        let mut agent = AgentProcess::new(&lab, &node, args);
        agent.start_agent();
        agent.apply(PODS).expect("pods apply");
        Some(Cluster { agent, node, lab })
    }
}

/// One `observerd` in a lab node, with its own socket, state directory, pins and log, and
/// a client for it.
pub struct AgentProcess {
    child: Option<Child>,
    /// Arguments besides the node namespace, prefix, socket, state and pins.
    pub args: Vec<String>,
    netns: String,
    prefix: String,
    state: PathBuf,
    socket: PathBuf,
    pins: BpffsDir,
    pub rt: tokio::runtime::Runtime,
}

impl AgentProcess {
    /// An agent for `node` (not started), its files under `/run/obs-e2e/<prefix>/<node>`.
    pub fn new(lab: &Lab, node: &NodeRef, args: Vec<String>) -> Self {
        let pins = lab
            .bpffs_dir(&format!("pins-{}", node.name))
            .expect("bpffs");
        let dir = PathBuf::from(format!("/run/obs-e2e/{}/{}", lab.prefix(), node.name));
        std::fs::create_dir_all(&dir).expect("state dir");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        AgentProcess {
            child: None,
            args,
            netns: node.netns.clone(),
            prefix: lab.prefix().to_string(),
            state: dir.join("state"),
            socket: dir.join("agent.sock"),
            pins,
            rt,
        }
    }

    /// Starts `observerd` (the previous one must be stopped) and waits for its socket.
    pub fn start_agent(&mut self) {
        self.start_agent_within(Duration::from_secs(30));
    }

    /// [`AgentProcess::start_agent`], waiting up to `timeout` for the socket (an agent
    /// adopting thousands of endpoints takes longer).
    pub fn start_agent_within(&mut self, timeout: Duration) {
        let log = std::fs::File::create(self.state.with_extension("log")).expect("log file");
        let child = Command::new(observerd())
            .args(["--node-netns", &self.netns, "--netns-prefix", &self.prefix])
            .arg("--socket")
            .arg(&self.socket)
            .arg("--state-dir")
            .arg(&self.state)
            .arg("--pin-root")
            .arg(self.pins.path())
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start observerd");
        self.child = Some(child);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.rt.block_on(self.try_channel()).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("observerd did not start: {}", self.log());
    }

    /// Stops the agent with SIGTERM, as an operator would.
    pub fn stop_agent(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("observerd ignored SIGTERM");
    }

    /// Kills the agent with SIGKILL, as a crash would: nothing is cleaned up.
    pub fn kill_agent(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The running agent's process id (benchmarks read its CPU time).
    #[allow(
        dead_code,
        reason = "the pipeline benchmark reads the agent's CPU time; no test does"
    )]
    pub fn agent_pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The agent's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state.with_extension("log")).unwrap_or_default()
    }

    /// The agent's socket address (`unix://...`).
    pub fn server(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    async fn try_channel(&self) -> Result<Channel, observe_proto::client::ConnectError> {
        let server = format!("unix://{}", self.socket.display());
        let ch = observe_proto::client::connect(&server, Duration::from_secs(2)).await?;
        let mut c = ControlClient::new(ch.clone());
        c.get_endpoints(GetEndpointsRequest {})
            .await
            .map_err(|_| observe_proto::client::ConnectError::Address(server))?;
        Ok(ch)
    }

    /// A channel to the agent.
    pub fn channel(&self) -> Channel {
        self.rt
            .block_on(self.try_channel())
            .expect("agent reachable")
    }

    /// Applies YAML; `Err` carries the rejection message.
    pub fn apply(&self, yaml: &str) -> Result<Vec<String>, String> {
        self.apply_with(yaml, false)
    }

    /// Applies YAML, its policies in audit mode when `audit` (`observe apply --audit`).
    pub fn apply_with(&self, yaml: &str, audit: bool) -> Result<Vec<String>, String> {
        self.apply_request(yaml, audit, false)
    }

    /// Applies YAML with `observe apply`'s `--audit` and `--force`.
    pub fn apply_request(
        &self,
        yaml: &str,
        audit: bool,
        force: bool,
    ) -> Result<Vec<String>, String> {
        let req = ApplyRequest {
            manifests: vec![Manifest {
                name: "test.yaml".into(),
                text: yaml.into(),
            }],
            audit,
            force,
        };
        let mut c = ControlClient::new(self.channel());
        self.rt
            .block_on(c.apply(req))
            .map(|r| r.into_inner().results)
            .map_err(|s| s.message().to_string())
    }

    /// Deletes what the YAML names.
    pub fn delete(&self, yaml: &str) -> Vec<String> {
        self.delete_request(yaml, false).expect("delete")
    }

    /// Deletes what the YAML names, with `observe delete`'s `--force`; `Err` carries the
    /// refusal.
    pub fn delete_request(&self, yaml: &str, force: bool) -> Result<Vec<String>, String> {
        let req = DeleteRequest {
            manifests: vec![Manifest {
                name: "test.yaml".into(),
                text: yaml.into(),
            }],
            all_policies: false,
            force,
        };
        let mut c = ControlClient::new(self.channel());
        self.rt
            .block_on(c.delete(req))
            .map(|r| r.into_inner().results)
            .map_err(|s| s.message().to_string())
    }

    /// The local endpoints.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let mut c = ControlClient::new(self.channel());
        self.rt
            .block_on(c.get_endpoints(GetEndpointsRequest {}))
            .expect("endpoints")
            .into_inner()
            .endpoints
    }

    /// One endpoint by pod name.
    pub fn endpoint(&self, pod: &str) -> Endpoint {
        self.endpoints()
            .into_iter()
            .find(|e| e.pod == pod)
            .unwrap_or_else(|| panic!("no endpoint {pod}"))
    }

    /// Starts TCP echo servers (and UDP ones) in a pod, on both address families.
    pub fn serve(&self, pod: &str, tcp: &[u16], udp: &[u16]) -> Servers {
        let netns = self.endpoint(pod).netns;
        let any = |port| SocketAddr::new("::".parse().expect("any"), port);
        Servers {
            _tcp: tcp
                .iter()
                .map(|p| lab::TcpServer::start(&netns, any(*p)).expect("tcp server"))
                .collect(),
            _udp: udp
                .iter()
                .map(|p| lab::UdpEcho::start(&netns, any(*p)).expect("udp server"))
                .collect(),
        }
    }

    /// Whether `from` reaches `to`'s address with `proto` ("tcp", "udp", "icmp") on `port`.
    pub fn reaches(&self, from: &str, to: &str, proto: &str, port: u16, v6: bool) -> bool {
        reaches(&self.endpoint(from).netns, ip(to, v6), proto, port)
    }

    /// Flows matching `filter`, most recent `number` (waiting up to 5 s for at least one).
    pub fn flows(&self, filter: FlowFilter, number: u64) -> Vec<Flow> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let flows = self.read_flows(filter.clone(), number);
            if !flows.is_empty() || Instant::now() > deadline {
                return flows;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn read_flows(&self, filter: FlowFilter, number: u64) -> Vec<Flow> {
        let mut c = ObserverClient::new(self.channel());
        let req = GetFlowsRequest {
            number,
            whitelist: vec![filter],
            ..Default::default()
        };
        self.rt.block_on(async {
            let mut stream = c.get_flows(req).await.expect("get_flows").into_inner();
            let mut out = Vec::new();
            while let Ok(Some(resp)) = stream.message().await {
                if let Some(ResponseTypes::Flow(f)) = resp.response_types {
                    out.push(f);
                }
            }
            out
        })
    }

    /// The agent's trace of a flow between pods of namespace `e2e`, as JSON.
    pub fn trace(&self, from: &str, to: &str, protocol: u32, dport: u32) -> serde_json::Value {
        self.trace_targets(
            &format!("e2e/{from}"),
            &format!("e2e/{to}"),
            protocol,
            dport,
        )
    }

    /// The agent's trace of a flow between any targets (`ns/pod`, an IP), as JSON.
    pub fn trace_targets(
        &self,
        from: &str,
        to: &str,
        protocol: u32,
        dport: u32,
    ) -> serde_json::Value {
        self.trace_request(TraceRequest {
            from: from.into(),
            to: to.into(),
            protocol,
            dport,
            ..Default::default()
        })
    }

    /// The agent's answer to a whole trace request, as JSON.
    pub fn trace_request(&self, req: TraceRequest) -> serde_json::Value {
        let mut c = ControlClient::new(self.channel());
        let json = self
            .rt
            .block_on(c.trace(req))
            .expect("trace")
            .into_inner()
            .json;
        serde_json::from_str(&json).expect("trace json")
    }
}

/// Whether a probe from `netns` gets through.
pub fn reaches(netns: &str, ip: IpAddr, proto: &str, port: u16) -> bool {
    let result = match proto {
        "tcp" => lab::tcp_connect(netns, SocketAddr::new(ip, port), TIMEOUT),
        "udp" => lab::udp_roundtrip(netns, SocketAddr::new(ip, port), TIMEOUT),
        _ => lab::ping(netns, ip, 1, Duration::from_secs(1)),
    };
    result.expect("probe")
}

/// Servers in a pod, stopped on drop.
pub struct Servers {
    _tcp: Vec<lab::TcpServer>,
    _udp: Vec<lab::UdpEcho>,
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = self.state.parent() {
            let _ = std::fs::remove_dir_all(dir);
            // The run's directory, once its last agent is gone.
            let _ = dir.parent().map(std::fs::remove_dir);
        }
    }
}

/// A filter on destination pod and port, and verdict.
pub fn filter(to_pod: &str, port: u16, verdict: observe_proto::flow::Verdict) -> FlowFilter {
    FlowFilter {
        destination_pod: vec![format!("e2e/{to_pod}")],
        destination_port: vec![port.to_string()],
        verdict: vec![verdict as i32],
        ..Default::default()
    }
}
