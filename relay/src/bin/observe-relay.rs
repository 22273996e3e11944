//! `observe-relay`: reads every node's flows and serves them as one stream.

use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use observe_relay::discover;
use observe_relay::get_flows::MergeConfig;
use observe_relay::metrics::RelayMetrics;
use observe_relay::options::Options;
use observe_relay::peers::Peers;
use observe_relay::serve::{Bound, serve};
use observe_relay::service::RelayService;
use tokio::sync::watch;

fn main() -> Result<()> {
    let opts = Options::parse();
    // Before anything is started: a refused configuration does nothing.
    opts.validate()?;
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?
        .block_on(run(opts))
}

async fn run(opts: Options) -> Result<()> {
    let peers = Peers::new(opts.dialer());
    peers.set_members(&opts.static_peers()?);
    if let Some(config) = opts.store.config().context("invalid --kvstore")? {
        tokio::spawn(discover::from_kvstore(config, peers.clone()));
    }
    let metrics = Arc::new(RelayMetrics::new(Some(peers.clone())));
    let merge = MergeConfig {
        sort_max: opts.sort_buffer_len_max,
        sort_timeout: opts.sort_buffer_drain_timeout,
        relay_name: opts.relay_name.clone(),
    };
    let service = RelayService::new(peers.clone(), merge, metrics.clone());
    let bound = Bound::bind(&opts)?;
    let (stop_tx, stop) = watch::channel(false);
    if let Some(address) = &opts.metrics_listen_address {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on --metrics-listen-address {address}"))?;
        tracing::info!("relay metrics on http://{}/metrics", listener.local_addr()?);
        tokio::spawn(observer::metrics::page::serve(
            listener,
            metrics,
            stopped(stop.clone()),
        ));
    }
    let signals = async move {
        wait_for_signal().await;
        tracing::info!("relay stopping");
        let _ = stop_tx.send(true);
    };
    tokio::spawn(signals);
    serve(service, bound, stopped(stop)).await?;
    peers.shutdown();
    Ok(())
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
