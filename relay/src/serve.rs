//! The relay's listener: a unix socket, or TCP with TLS (mTLS when client CAs are given)
//! unless `--disable-server-tls`. Health (also under Hubble's `hubble.server.Observer`)
//! and server reflection are served next to the observer, as on the nodes.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use observe_proto::observer::observer_server::SERVICE_NAME as OBSERVER;
use observer::listen::{StandardServices, TlsError, TlsFiles, add_standard_services};
use observer::server::bind_unix;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::options::Options;
use crate::service::RelayService;

/// A bound listener, not served yet.
pub enum Bound {
    /// A unix socket.
    Unix(tokio::net::UnixListener, PathBuf),
    /// TCP, with its TLS settings (none: plaintext).
    Tcp(TcpIncoming, SocketAddr, Option<TlsFiles>),
}

/// Why the relay cannot listen or serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address does not parse or resolve.
    #[error("invalid --listen-address {0:?}: expected HOST:PORT, :PORT or unix:///PATH")]
    Address(String),
    /// The socket cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS files cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The gRPC server failed (a certificate that does not match its key, too).
    #[error("the relay's gRPC server: {0}")]
    Server(#[from] tonic::transport::Error),
    /// The reflection descriptors do not decode (a build problem).
    #[error("cannot set up gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

impl Bound {
    /// Binds `--listen-address`.
    ///
    /// # Errors
    ///
    /// [`ServeError::Address`] or [`ServeError::Bind`].
    pub fn bind(opts: &Options) -> Result<Self, ServeError> {
        let address = &opts.listen_address;
        let bind_error = |source| ServeError::Bind {
            address: address.clone(),
            source,
        };
        if let Some(path) = address
            .strip_prefix("unix://")
            .or_else(|| address.strip_prefix("unix:"))
        {
            let path = PathBuf::from(path);
            let listener = bind_unix(&path).map_err(bind_error)?;
            return Ok(Self::Unix(listener, path));
        }
        let addr = resolve(address)?;
        let incoming = TcpIncoming::bind(addr)
            .map_err(|e| bind_error(std::io::Error::other(e)))?
            .with_nodelay(Some(true));
        let local = incoming.local_addr().unwrap_or(addr);
        let tls = match (
            &opts.tls_relay_server_cert_file,
            &opts.tls_relay_server_key_file,
        ) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_cas: opts.tls_relay_client_ca_files.clone(),
            }),
            _ => None,
        };
        Ok(Self::Tcp(incoming, local, tls))
    }

    /// What clients give as `--server`.
    pub fn address(&self) -> String {
        match self {
            Self::Unix(_, path) => format!("unix://{}", path.display()),
            Self::Tcp(_, addr, Some(_)) => format!("tls://{addr}"),
            Self::Tcp(_, addr, None) => addr.to_string(),
        }
    }
}

/// `HOST:PORT`, with `:PORT` meaning every address.
fn resolve(address: &str) -> Result<SocketAddr, ServeError> {
    use std::net::ToSocketAddrs;
    let full = if address.starts_with(':') {
        format!("0.0.0.0{address}")
    } else {
        address.to_string()
    };
    full.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| ServeError::Address(address.to_string()))
}

/// Serves `service` on `bound` until `shutdown` resolves.
///
/// # Errors
///
/// [`ServeError`] when TLS cannot be set up or the server fails.
pub async fn serve(
    service: RelayService,
    bound: Bound,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let standard = StandardServices::new();
    standard.set_serving(&[OBSERVER]).await;
    match bound {
        Bound::Unix(listener, path) => {
            let router = Server::builder().add_service(service.into_router());
            let router = add_standard_services(router, &standard, &[OBSERVER])?;
            tracing::info!("relay serving on unix://{}", path.display());
            let incoming = UnixListenerStream::new(listener);
            router
                .serve_with_incoming_shutdown(incoming, shutdown)
                .await?;
        }
        Bound::Tcp(incoming, addr, tls) => {
            let mut builder = Server::builder();
            let security = match tls {
                Some(files) => {
                    builder = builder.tls_config(files.load()?)?;
                    if files.is_mutual() { "mTLS" } else { "TLS" }
                }
                None => "plaintext",
            };
            let router = builder.add_service(service.into_router());
            let router = add_standard_services(router, &standard, &[OBSERVER])?;
            tracing::info!("relay serving on {addr} ({security})");
            router
                .serve_with_incoming_shutdown(incoming, shutdown)
                .await?;
        }
    }
    Ok(())
}
