//! The node agent behind `observerd` (feature `agent`): owns the engine, the eBPF
//! datapath, the local endpoints and the event pipeline, and serves the observer and
//! control APIs on one unix socket.
//!
//! - [`options`]: command-line options;
//! - [`reconcile`]: applied objects → engine → endpoints → maps and links (the state machine);
//! - [`endpoints`]: endpoint namespaces, names, ids and addresses;
//! - [`store`]: what survives a restart;
//! - [`snapshot`]: the read-only view the decoder enriches flows from;
//! - [`control`]: the control gRPC service;
//! - [`reader`]: the ring-buffer reader and kernel loss accounting;
//! - [`clock`]: monotonic-to-wall-clock conversion.

pub mod clock;
pub mod control;
pub mod endpoints;
pub mod options;
pub mod reader;
pub mod reconcile;
pub mod snapshot;
pub mod store;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use tokio_stream::wrappers::UnixListenerStream;

use crate::decode::Decoder;
use crate::pipeline::{Pipeline, PipelineConfig};
use crate::ring::Capacity;
use crate::server::{ObserverService, bind_unix};
use control::ControlService;
use options::Options;
use reconcile::Agent;
use snapshot::SharedSnapshot;

/// Enters the node's network namespace (`--node-netns`) or finds the name of the current
/// one. Call before starting any other thread: threads inherit the namespace.
pub fn enter_node(opts: &Options) -> Result<String> {
    match &opts.node_netns {
        Some(n) => {
            lab::plumbing::enter_netns(n)
                .with_context(|| format!("cannot enter the node namespace {n}"))?;
            Ok(n.clone())
        }
        None => lab::plumbing::current_netns_name().ok_or_else(|| {
            anyhow!(
                "this network namespace has no name under /var/run/netns: pass --node-netns NAME"
            )
        }),
    }
}

/// Runs the agent until SIGTERM or SIGINT. Enforcement continues after it exits: the
/// programs stay attached through their pinned links, and the next agent adopts them.
pub async fn run(opts: Options, node_netns: String) -> Result<()> {
    let snapshot = SharedSnapshot::default();
    let mut agent = {
        let (opts, snapshot) = (opts.clone(), snapshot.clone());
        tokio::task::spawn_blocking(move || Agent::start(&opts, node_netns, snapshot)).await??
    };
    let events = agent
        .datapath()
        .take_events()
        .ok_or_else(|| anyhow!("the event ring buffer is already taken"))?;
    let agent = Arc::new(Mutex::new(agent));
    let capacity =
        Capacity::new(opts.max_flows as usize).map_err(|e| anyhow!("invalid --max-flows: {e}"))?;
    let decoder = Decoder::new(clock::boot_clock())
        .with_endpoints(Arc::new(snapshot.clone()))
        .with_identities(Arc::new(snapshot.clone()))
        .with_policies(Arc::new(snapshot.clone()))
        .with_links(Arc::new(snapshot));
    let config = PipelineConfig {
        capacity,
        ..PipelineConfig::new(opts.node_name.as_str())
    };
    let (pipeline, sender) = Pipeline::new(config, decoder);
    let state = pipeline.state();
    tokio::spawn(pipeline.run());
    tokio::spawn(reader::read_events(
        events.into_inner(),
        sender.clone(),
        opts.node_name.as_str().into(),
    ));
    tokio::spawn(reader::report_kernel_losses(
        agent.clone(),
        sender,
        Duration::from_secs(1),
    ));
    serve(
        &opts,
        ObserverService::new(state),
        ControlService::new(agent),
    )
    .await
}

/// How long a stopping agent waits for clients to close their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

async fn serve(opts: &Options, observer: ObserverService, control: ControlService) -> Result<()> {
    if let Some(dir) = opts.socket.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let listener = bind_unix(&opts.socket)
        .with_context(|| format!("cannot listen on {}", opts.socket.display()))?;
    tracing::info!("serving on unix://{}", opts.socket.display());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown().await;
        let _ = stop_tx.send(true);
    });
    let stopping = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let server = tonic::transport::Server::builder()
        .add_service(observer.into_server())
        .add_service(control.into_server())
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), stopping(stop_rx.clone()));
    // Graceful shutdown waits for clients to hang up; a follower never does, so the wait
    // is bounded.
    let grace = async {
        stopping(stop_rx).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        served = server => served.context("the gRPC server failed")?,
        () = grace => tracing::info!("clients still connected after {SHUTDOWN_GRACE:?}; closing them"),
    }
    let _ = std::fs::remove_file(&opts.socket);
    tracing::info!("stopped; enforcement continues through the pinned datapath");
    Ok(())
}

async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
