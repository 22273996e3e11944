//! The agent's listeners, all bound before any is served (a bad address or certificate
//! stops the agent at start) and all stopped together:
//!
//! | listener | serves | access |
//! |---|---|---|
//! | unix socket (`--socket`) | observer, control, health, reflection | mode 0660, `--socket-group` |
//! | TCP (`--listen-address`) | observer, health, reflection | TLS (`--tls-*`, mTLS with client CAs), or `--insecure` |
//! | HTTP (`--metrics-address`) | `/metrics`, `/healthz` | plaintext, read-only |
//!
//! The control API (apply, delete: it changes enforcement) stays on the unix socket,
//! where file permissions decide who may use it; TCP clients get the read-only observer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::{Context, Result};
use observe_proto::control::control_server::ControlServer;
use observe_proto::observer::observer_server::ObserverServer;
use tokio::sync::watch;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::server::NamedService;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use super::control::ControlService;
use super::options::{self, Options};
use super::socket;
use crate::listen::{StandardServices, add_standard_services};
use crate::metrics::Metrics;
use crate::server::{ObserverService, bind_unix};

/// A listener's serving future.
type Serving = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

const OBSERVER: &str = <ObserverServer<ObserverService> as NamedService>::NAME;
const CONTROL: &str = <ControlServer<ControlService> as NamedService>::NAME;

/// Binds every configured listener, then serves them until `stop` turns true.
///
/// # Errors
///
/// A listener cannot be bound (address in use, bad certificate, unknown group), or a
/// server fails.
pub async fn serve(
    opts: &Options,
    observer: ObserverService,
    control: ControlService,
    metrics: Option<Arc<Metrics>>,
    stop: watch::Receiver<bool>,
) -> Result<()> {
    let standard = StandardServices::new();
    standard.set_serving(&[OBSERVER, CONTROL]).await;
    let mut servers = vec![unix(opts, &observer, control, &standard, stop.clone())?];
    servers.extend(tcp(opts, &observer, &standard, stop.clone())?);
    if let Some(metrics) = metrics {
        servers.push(metrics_http(opts, metrics, stop.clone()).await?);
    }
    let not_serving = async move {
        stopped(stop).await;
        standard.set_not_serving(&[OBSERVER, CONTROL]).await;
        Ok(())
    };
    servers.push(Box::pin(not_serving));
    // Every future ends when stopped; an error before that ends the agent.
    while !servers.is_empty() {
        let (first, rest) = first_done(servers).await;
        first?;
        servers = rest;
    }
    Ok(())
}

/// The unix socket: every service, mode 0660, optionally handed to a group.
fn unix(
    opts: &Options,
    observer: &ObserverService,
    control: ControlService,
    standard: &StandardServices,
    stop: watch::Receiver<bool>,
) -> Result<Serving> {
    if let Some(dir) = opts.socket.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let listener = bind_unix(&opts.socket)
        .with_context(|| format!("cannot listen on {}", opts.socket.display()))?;
    if let Some(group) = &opts.socket_group {
        let gid = socket::set_group(&opts.socket, group)?;
        tracing::info!(gid, "unix socket group set");
    }
    let router = Server::builder()
        .add_service(observer.clone().into_server())
        .add_service(control.into_server());
    let router = add_standard_services(router, standard, &[OBSERVER, CONTROL])
        .context("cannot set up gRPC reflection")?;
    tracing::info!("serving on unix://{}", opts.socket.display());
    let incoming = UnixListenerStream::new(listener);
    Ok(Box::pin(async move {
        router
            .serve_with_incoming_shutdown(incoming, stopped(stop))
            .await
            .context("the gRPC server on the unix socket failed")
    }))
}

/// The TCP listener, if configured: the observer service only, with TLS unless
/// `--insecure` (which `Options::validate` insists on for plaintext).
fn tcp(
    opts: &Options,
    observer: &ObserverService,
    standard: &StandardServices,
    stop: watch::Receiver<bool>,
) -> Result<Option<Serving>> {
    let Some(address) = &opts.listen_address else {
        return Ok(None);
    };
    opts.validate()?;
    let addr = options::resolve("--listen-address", address)?;
    let mut builder = Server::builder();
    let security = match opts.tls_files() {
        Some(files) => {
            let config = files.load()?;
            builder = builder
                .tls_config(config)
                .context("invalid TLS certificate or key")?;
            if files.is_mutual() { "mTLS" } else { "TLS" }
        }
        None => "plaintext (--insecure)",
    };
    let incoming = TcpIncoming::bind(addr)
        .with_context(|| format!("cannot listen on {addr}"))?
        .with_nodelay(Some(true));
    let local = incoming.local_addr().unwrap_or(addr);
    let router = builder.add_service(observer.clone().into_server());
    let router = add_standard_services(router, standard, &[OBSERVER])
        .context("cannot set up gRPC reflection")?;
    tracing::info!("serving the observer API on {local} ({security})");
    Ok(Some(Box::pin(async move {
        router
            .serve_with_incoming_shutdown(incoming, stopped(stop))
            .await
            .context("the gRPC server on TCP failed")
    })))
}

/// The Prometheus endpoint.
async fn metrics_http(
    opts: &Options,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
) -> Result<Serving> {
    let address = opts.metrics_address.as_deref().unwrap_or_default();
    let addr = options::resolve("--metrics-address", address)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for metrics"))?;
    let local = listener.local_addr().unwrap_or(addr);
    tracing::info!("serving metrics on http://{local}/metrics");
    Ok(Box::pin(async move {
        crate::metrics::page::serve(listener, metrics, stopped(stop))
            .await
            .context("the metrics server failed")
    }))
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Waits for the first of `futures` to finish; returns its output and the others.
async fn first_done(mut futures: Vec<Serving>) -> (Result<()>, Vec<Serving>) {
    std::future::poll_fn(move |cx| {
        for i in 0..futures.len() {
            if let std::task::Poll::Ready(out) = futures[i].as_mut().poll(cx) {
                drop(futures.swap_remove(i));
                return std::task::Poll::Ready((out, std::mem::take(&mut futures)));
            }
        }
        std::task::Poll::Pending
    })
    .await
}
