//! An in-process agent: the observer's pipeline (with the fixture decoder) and its gRPC
//! service on a unix socket in a temporary directory, fed with synthetic events. It runs
//! on its own multi-threaded runtime so tests can block (tmux, sleeps) meanwhile, and
//! dropping it drops that runtime, which closes every connection like an agent that
//! exits; starting another on the same socket is an agent restart (with an empty ring).

use std::path::{Path, PathBuf};
use std::time::Duration;

use observe_proto::flow::Flow;
use observer::pipeline::{EventSender, ObserverState, Pipeline, PipelineConfig};
use observer::server::{ObserverService, serve_unix};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

use super::events;
use super::fixtures::Spec;

/// A running agent stub.
pub struct Agent {
    /// The socket path (`unix://` + this is the `--server`).
    pub socket: PathBuf,
    name: String,
    runtime: Runtime,
    sender: Option<EventSender>,
    state: ObserverState,
    stop: Option<oneshot::Sender<()>>,
}

impl Agent {
    /// Starts an agent listening on `socket`.
    pub fn start(socket: &Path) -> Self {
        Self::start_named(socket, "node-1")
    }

    /// Starts the agent of node `name` listening on `socket`.
    pub fn start_named(socket: &Path, name: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (pipeline, sender) = Pipeline::new(PipelineConfig::new(name), events::decoder());
        let state = pipeline.state();
        runtime.spawn(pipeline.run());
        let mut agent = Self {
            socket: socket.to_path_buf(),
            name: name.to_string(),
            runtime,
            sender: Some(sender),
            state,
            stop: None,
        };
        agent.serve();
        agent
    }

    /// Serves on the socket; waits until it exists.
    fn serve(&mut self) {
        let (stop, stopped) = oneshot::channel::<()>();
        let service = ObserverService::new(self.state.clone()).with_version("test-agent");
        let socket = self.socket.clone();
        self.runtime.spawn(async move {
            let _ = serve_unix(service, &socket, async {
                let _ = stopped.await;
            })
            .await;
        });
        self.stop = Some(stop);
        wait_for(|| self.socket.exists(), "the agent socket");
    }

    /// The server address for `--server`.
    pub fn address(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Feeds synthetic datapath events and waits until they are in the ring.
    pub fn send(&self, specs: &[Spec]) {
        let before = self.state.ring.write_position();
        let sender = self.sender.as_ref().expect("running");
        for spec in specs {
            let mut event = events::event(*spec);
            event.node_name = self.name.as_str().into();
            sender.send(event).expect("pipeline runs");
        }
        let want = before + specs.len() as u64;
        wait_for(
            || self.state.ring.write_position() >= want,
            "flows in the ring",
        );
    }

    /// The flows the fixture decoder makes of `specs`.
    pub fn decoded(specs: &[Spec]) -> Vec<Flow> {
        let mut decoder = events::decoder();
        specs
            .iter()
            .map(|s| events::decode(&mut decoder, *s))
            .collect()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.sender.take();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Polls `done` every 10 ms for up to 10 s.
pub fn wait_for(mut done: impl FnMut() -> bool, what: &str) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for {what}");
}

/// A fresh temporary directory for one test (`/tmp/observe-tui-{name}-XXXXXX`), removed
/// when dropped.
pub fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("observe-tui-{name}-"))
        .tempdir()
        .expect("temp dir")
}
