//! The agent's wiring, from start to SIGTERM: the pipeline and its optional hooks first
//! (a file that cannot be opened stops the agent before it touches the datapath), then the
//! [`Agent`], the ring-buffer source and the listeners.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, anyhow};

use super::control::ControlService;
use super::options::{Options, TraceMode};
use super::snapshot::SharedSnapshot;
use super::{
    Agent, aggregation, clock, cluster, dns_proxy, http_proxy, listeners, maps, node, ringbuf,
};
use crate::export::{ExportConfig, Exporter};
use crate::history::{History, HistoryConfig};
use crate::metrics::{MapGauges, Metrics};
use crate::pipeline::{Pipeline, PipelineConfig};
use crate::ring::Capacity;
use crate::server::ObserverService;

/// Runs the agent until SIGTERM or SIGINT. Enforcement continues after it exits: the
/// programs stay attached through their pinned links, and the next agent adopts them.
pub async fn run(opts: Options, node_netns: String) -> Result<()> {
    opts.validate()?;
    // The pipeline and its optional outputs first: a file that cannot be opened stops the
    // agent before it touches the datapath.
    let snapshot = SharedSnapshot::default();
    let capacity =
        Capacity::new(opts.max_flows as usize).map_err(|e| anyhow!("invalid --max-flows: {e}"))?;
    let decoder = snapshot.decoder(clock::boot_clock());
    let defaults = PipelineConfig::new(opts.node_name.as_str());
    let config = PipelineConfig {
        capacity,
        queue_size: opts.event_queue_size.unwrap_or(defaults.queue_size),
        ..defaults
    };
    let queue_size = config.queue_size;
    let (mut pipeline, sender) = Pipeline::new(config, decoder);
    let state = pipeline.state();
    let gauges = MapGauges::default();
    let dns_stats = Arc::new(observe_proxy::dns::Stats::default());
    let http_stats = Arc::new(observe_proxy::http::Stats::default());
    // Without the host firewall, a previous agent's goes first: its host policy could keep
    // this one from the kvstore.
    super::host_firewall::release_if_disabled(&opts)?;
    // The cluster's store before the datapath: an unreachable one stops the start here.
    let link = match &opts.cluster.store.kvstore {
        Some(url) => Some(cluster::Link::connect(&opts.cluster, url).await?),
        None => None,
    };
    let cluster = link.as_ref().map(|l| (l.store.clone(), l.status.clone()));
    // Always counted (one flow built per new connection): `get policies --hits`.
    let rule_hits = crate::rule_hits::RuleHits::new();
    pipeline.add_hook(rule_hits.hook());
    let metrics = match &opts.metrics_address {
        Some(_) => {
            let mut metrics = Metrics::new(&opts.metrics)?
                .with_rule_hits(rule_hits.clone())
                .with_pipeline(&state, queue_size)
                .with_maps(gauges.clone())
                .with_dns_proxy(dns_proxy::counters(dns_stats.clone()))
                .with_http_proxy(http_proxy::counters(http_stats.clone()));
            if let Some((_, status)) = &cluster {
                let status = status.clone();
                metrics = metrics.with_kvstore(Arc::new(move || status.reading()));
            }
            pipeline.add_hook(metrics.hook());
            Some(Arc::new(metrics))
        }
        None => None,
    };
    if let Some(config) = export_config(&opts)? {
        let exporter = Exporter::new(&config)?;
        tracing::info!("exporting flows to {}", config.path.display());
        pipeline.add_hook(exporter);
    }
    let ring = state.ring.clone();
    let observer = with_history(&opts, &mut pipeline, ObserverService::new(state))?;

    let (mut agent, forwarding_enabled) = {
        let opts = opts.clone();
        tokio::task::spawn_blocking(move || -> Result<_> {
            // Before any endpoint exists: a node that does not forward drops their packets.
            let enabled = node::enable_forwarding(&node_netns)?;
            Ok((Agent::start(&opts, node_netns, snapshot, link)?, enabled))
        })
        .await??
    };
    let observer = observer.with_forwarding(node::forwarding_report(forwarding_enabled));
    let events = agent
        .datapath()
        .take_events()
        .ok_or_else(|| anyhow!("the event ring buffer is already taken"))?;
    if opts.trace == TraceMode::Aggregate {
        aggregation::start(
            agent.datapath().connections()?,
            sender.clone(),
            opts.monitor_aggregation_interval,
            opts.node_name.as_str().into(),
        )?;
    }
    let agent = Arc::new(Mutex::new(agent));
    let mut control = ControlService::new(agent.clone())
        .with_rule_hits(rule_hits.clone())
        .with_flow_history(ring, observer.history());
    if let Some((store, status)) = cluster {
        tokio::spawn(cluster::sync::run(
            agent.clone(),
            store.clone(),
            status.clone(),
        ));
        tokio::spawn(cluster::identities::collect(
            store.clone(),
            opts.cluster.identity_gc_grace,
        ));
        control = control.with_cluster(cluster::submit::Submitter::new(store, status));
    }
    if metrics.is_some() {
        tokio::spawn(maps::report_occupancy(
            agent.clone(),
            gauges,
            MAP_COUNT_INTERVAL,
        ));
    }
    dns_proxy::install_steering()?;
    dns_proxy::start(
        agent.clone(),
        sender.clone(),
        &opts,
        opts.node_name.as_str().into(),
        dns_stats,
    )?;
    http_proxy::start(
        agent.clone(),
        sender.clone(),
        &opts,
        opts.node_name.as_str().into(),
        http_stats,
    )?;
    let kernel_sender = pipeline.kernel_sender();
    tokio::spawn(pipeline.run());
    tokio::spawn(ringbuf::drain(
        events.into_inner(),
        kernel_sender,
        opts.node_name.as_str().into(),
    ));
    tokio::spawn(ringbuf::report_kernel_losses(
        agent.clone(),
        sender,
        Duration::from_secs(1),
    ));
    let served = serve(&opts, observer, control, metrics).await;
    let saved = agent
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .save_fqdn();
    if let Err(e) = saved {
        tracing::warn!("cannot save the DNS caches: {e:#}");
    }
    served
}

/// How often the datapath maps are counted for the occupancy metrics.
const MAP_COUNT_INTERVAL: Duration = Duration::from_secs(15);

/// The exporter's settings, if `--export-file` is given.
fn export_config(opts: &Options) -> Result<Option<ExportConfig>> {
    let Some(path) = &opts.export_file else {
        return Ok(None);
    };
    let parse = |lists: &[String]| -> Result<Vec<_>> {
        let mut filters = Vec::new();
        for text in lists {
            filters.extend(crate::export::parse_filters(text)?);
        }
        Ok(filters)
    };
    Ok(Some(ExportConfig {
        path: path.clone(),
        max_bytes: opts.export_file_max_size_mb.saturating_mul(1 << 20),
        max_backups: opts.export_file_max_backups,
        allowlist: parse(&opts.export_allowlist)?,
        denylist: parse(&opts.export_denylist)?,
        field_mask: opts.export_fieldmask.clone(),
        node_name: opts.node_name.clone(),
    }))
}

/// Opens the on-disk history if `--history-dir` is given: its writer joins the pipeline,
/// and the service reads it.
fn with_history(
    opts: &Options,
    pipeline: &mut Pipeline,
    observer: ObserverService,
) -> Result<ObserverService> {
    let Some(dir) = &opts.history_dir else {
        return Ok(observer);
    };
    let config = HistoryConfig::new(dir, opts.history_max_size_mb.saturating_mul(1 << 20));
    let (history, writer) = History::open(config)?;
    tracing::info!(
        events = history.events(),
        bytes = history.bytes(),
        "flow history in {}",
        dir.display()
    );
    pipeline.add_hook(writer.with_node_name(opts.node_name.as_str()));
    Ok(observer.with_history(history))
}

/// How long a stopping agent waits for clients to close their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

async fn serve(
    opts: &Options,
    observer: ObserverService,
    control: ControlService,
    metrics: Option<Arc<Metrics>>,
) -> Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown().await;
        let _ = stop_tx.send(true);
    });
    let stopping = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let served = listeners::serve(opts, observer, control, metrics, stop_rx.clone());
    // Graceful shutdown waits for clients to hang up; a follower never does, so the wait
    // is bounded.
    let grace = async {
        stopping(stop_rx).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        served = served => served?,
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
