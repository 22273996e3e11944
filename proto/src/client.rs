//! Connecting to an agent: the `--server` addresses `observe` accepts, like
//! `hubble --server`: `unix:///run/observe/observer.sock` (or `unix:PATH`), `host:port`,
//! `http://host:port`, and with TLS `tls://host:port` (or `https://host:port`, or a plain
//! `host:port` with [`TlsOptions::enabled`], which is `--tls`).
//!
//! TLS is rustls (ring provider). The server is verified against the CA files given, or
//! the system roots when there are none; the name verified is `--tls-server-name`, else
//! the address's host. A client certificate and key make it mutual TLS.

mod insecure;

use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity, Uri};

/// The default server: the agent's unix socket.
pub const DEFAULT_SERVER: &str = "unix:///run/observe/observer.sock";

/// A parsed `--server` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Server {
    /// A unix socket path.
    Unix(PathBuf),
    /// A TCP address.
    Tcp {
        /// The address as a URI: `http://host:port`, or `https://host:port` with TLS.
        uri: String,
        /// Whether the address itself asks for TLS (`tls://`, `https://`).
        tls: bool,
    },
}

/// TLS settings of a client, as `hubble`'s `--tls*` flags set them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Use TLS for a `host:port` address too (`--tls`); `tls://` addresses always do.
    pub enabled: bool,
    /// PEM files of the CAs that may sign the server's certificate; the system roots
    /// when empty.
    pub ca_cert_files: Vec<PathBuf>,
    /// PEM certificate presented to the server (mutual TLS); needs `client_key_file`.
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key of `client_cert_file`.
    pub client_key_file: Option<PathBuf>,
    /// The name the server's certificate must carry (default: the address's host).
    pub server_name: Option<String>,
    /// Accept any server certificate. Encrypts, but does not authenticate the server:
    /// for tests and first contact only.
    pub allow_insecure: bool,
}

/// Why a server address is invalid or unreachable.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The address does not parse.
    #[error(
        "invalid server address {0:?}: expected unix:///PATH, host:port, http://host:port or tls://host:port"
    )]
    Address(String),
    /// The TLS settings cannot be used.
    #[error("TLS settings for {server}: {reason}")]
    Tls {
        /// The address.
        server: String,
        /// What is wrong.
        reason: String,
    },
    /// A certificate or key file cannot be read, or holds no PEM block of the right kind.
    /// (The cause is part of the message, not a source: callers that print the root cause
    /// must still name the file.)
    #[error("cannot use {what} {path}: {reason}", path = path.display())]
    TlsFile {
        /// Which flag named the file.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Connecting failed.
    #[error("cannot connect to {server}: {source}")]
    Connect {
        /// The address.
        server: String,
        /// The transport error.
        #[source]
        source: tonic::transport::Error,
    },
}

impl Server {
    /// Parses a `--server` value.
    ///
    /// # Errors
    ///
    /// [`ConnectError::Address`] when the value is not one of the accepted forms.
    pub fn parse(s: &str) -> Result<Self, ConnectError> {
        if let Some(path) = s
            .strip_prefix("unix://")
            .or_else(|| s.strip_prefix("unix:"))
        {
            if path.is_empty() {
                return Err(ConnectError::Address(s.into()));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        let (rest, tls) = if let Some(rest) = s
            .strip_prefix("tls://")
            .or_else(|| s.strip_prefix("https://"))
        {
            (rest, true)
        } else {
            (s.strip_prefix("http://").unwrap_or(s), false)
        };
        let uri = format!("{}://{rest}", if tls { "https" } else { "http" });
        match uri.parse::<Uri>() {
            Ok(u) if u.host().is_some() && u.port().is_some() => Ok(Self::Tcp { uri, tls }),
            _ => Err(ConnectError::Address(s.into())),
        }
    }
}

/// Opens a plaintext (or `tls://` with system roots) channel to `server`, failing after
/// `timeout` when nothing answers.
///
/// # Errors
///
/// See [`connect_with`].
pub async fn connect(server: &str, timeout: Duration) -> Result<Channel, ConnectError> {
    connect_with(server, timeout, &TlsOptions::default()).await
}

/// Opens a channel to `server` with the TLS settings `tls`, failing after `timeout` when
/// nothing answers.
///
/// # Errors
///
/// [`ConnectError::Address`] for an invalid address, [`ConnectError::Tls`] or
/// [`ConnectError::TlsFile`] for unusable TLS settings (TLS asked for a unix socket, a
/// certificate without its key, unreadable files), [`ConnectError::Connect`] when the
/// connection or the handshake fails.
pub async fn connect_with(
    server: &str,
    timeout: Duration,
    tls: &TlsOptions,
) -> Result<Channel, ConnectError> {
    let failed = |source| ConnectError::Connect {
        server: server.to_string(),
        source,
    };
    match Server::parse(server)? {
        Server::Tcp {
            uri,
            tls: by_address,
        } => {
            let use_tls = by_address || tls.enabled;
            let endpoint = tcp_endpoint(server, &uri, use_tls.then_some(tls))?;
            with_stream_windows(endpoint)
                .connect_timeout(timeout)
                .connect()
                .await
                .map_err(failed)
        }
        Server::Unix(_) if tls.enabled => Err(ConnectError::Tls {
            server: server.into(),
            reason: "TLS does not apply to a unix socket; use tls://host:port".into(),
        }),
        Server::Unix(path) => {
            // The URI is a placeholder: the connector ignores it and dials the socket.
            let endpoint = Endpoint::from_static("http://localhost").connect_timeout(timeout);
            with_stream_windows(endpoint)
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move {
                        tokio::net::UnixStream::connect(path)
                            .await
                            .map(TokioIo::new)
                    }
                }))
                .await
                .map_err(failed)
        }
    }
}

/// HTTP/2 receive windows for long flow streams: with h2's default 64 KiB a `GetFlows`
/// stream stops every hundred flows until the client's window update arrives. The
/// server may send this much ahead of what the client has read, per stream and per
/// connection; memory stays bounded by these sizes.
fn with_stream_windows(endpoint: Endpoint) -> Endpoint {
    endpoint
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
}

/// Bytes a server may send on one stream ahead of the client (about 4,000 flows).
const STREAM_WINDOW: u32 = 2 << 20;
/// Bytes a server may send on one connection ahead of the client.
const CONNECTION_WINDOW: u32 = 4 << 20;

/// The endpoint for a TCP address, with TLS configured when `tls` is given.
fn tcp_endpoint(
    server: &str,
    uri: &str,
    tls: Option<&TlsOptions>,
) -> Result<Endpoint, ConnectError> {
    let Some(tls) = tls else {
        return Endpoint::from_shared(uri.to_string())
            .map_err(|_| ConnectError::Address(server.into()));
    };
    // A plain address with --tls: the scheme must say https for the TLS connector.
    let uri = match uri.strip_prefix("http://") {
        Some(rest) => format!("https://{rest}"),
        None => uri.to_string(),
    };
    let endpoint = Endpoint::from_shared(uri).map_err(|_| ConnectError::Address(server.into()))?;
    let tls_error = |e: tonic::transport::Error| ConnectError::Tls {
        server: server.into(),
        reason: error_chain(&e),
    };
    let config = client_config(server, tls)?;
    if tls.allow_insecure {
        endpoint
            .tls_config_with_verifier(config, insecure::verifier())
            .map_err(tls_error)
    } else {
        endpoint.tls_config(config).map_err(tls_error)
    }
}

/// The rustls client settings: roots (unless insecure), client identity, server name.
fn client_config(server: &str, tls: &TlsOptions) -> Result<ClientTlsConfig, ConnectError> {
    let mut config = ClientTlsConfig::new();
    if let Some(name) = &tls.server_name {
        config = config.domain_name(name.clone());
    }
    if !tls.allow_insecure {
        if tls.ca_cert_files.is_empty() {
            config = config.with_native_roots();
        }
        for path in &tls.ca_cert_files {
            let pem = read_pem(path, "--tls-ca-cert-files", "CERTIFICATE")?;
            config = config.ca_certificate(Certificate::from_pem(pem));
        }
    }
    match (&tls.client_cert_file, &tls.client_key_file) {
        (Some(cert), Some(key)) => {
            let cert = read_pem(cert, "--tls-client-cert-file", "CERTIFICATE")?;
            let key = read_pem(key, "--tls-client-key-file", "PRIVATE KEY")?;
            config = config.identity(Identity::from_pem(cert, key));
        }
        (None, None) => {}
        _ => {
            return Err(ConnectError::Tls {
                server: server.into(),
                reason: "--tls-client-cert-file and --tls-client-key-file go together".into(),
            });
        }
    }
    Ok(config)
}

/// Reads a PEM file that must hold a `kind` block: rustls silently skips what it cannot
/// parse, so a wrong file would otherwise surface as a handshake failure much later.
fn read_pem(path: &Path, what: &'static str, kind: &str) -> Result<Vec<u8>, ConnectError> {
    let file_error = |reason: String| ConnectError::TlsFile {
        what,
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| file_error(e.to_string()))?;
    let text = String::from_utf8_lossy(&bytes);
    let has_block = text
        .lines()
        .any(|l| l.starts_with("-----BEGIN ") && l.contains(kind));
    if !has_block {
        return Err(file_error(format!("no PEM {kind} block")));
    }
    Ok(bytes)
}

/// An error and its causes on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(uri: &str, tls: bool) -> Server {
        Server::Tcp {
            uri: uri.into(),
            tls,
        }
    }

    #[test]
    fn server_addresses_parse_like_hubble() {
        assert_eq!(
            Server::parse("unix:///run/x.sock").unwrap(),
            Server::Unix("/run/x.sock".into())
        );
        assert_eq!(
            Server::parse("unix:rel.sock").unwrap(),
            Server::Unix("rel.sock".into())
        );
        assert_eq!(
            Server::parse("localhost:4245").unwrap(),
            tcp("http://localhost:4245", false)
        );
        assert_eq!(
            Server::parse("http://10.0.0.1:4244").unwrap(),
            tcp("http://10.0.0.1:4244", false)
        );
        assert_eq!(
            Server::parse("tls://relay.example:4245").unwrap(),
            tcp("https://relay.example:4245", true)
        );
        assert_eq!(
            Server::parse("https://[::1]:4244").unwrap(),
            tcp("https://[::1]:4244", true)
        );
        for bad in ["nohostport", "unix://", "tls://nohost", "tls://"] {
            assert!(
                matches!(Server::parse(bad), Err(ConnectError::Address(_))),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn unusable_tls_settings_fail_before_dialing() {
        let t = Duration::from_millis(200);
        let on_unix = TlsOptions {
            enabled: true,
            ..TlsOptions::default()
        };
        let err = connect_with("unix:///tmp/x.sock", t, &on_unix)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("unix socket"), "{err}");
        let half_identity = TlsOptions {
            client_cert_file: Some("/nonexistent/cert.pem".into()),
            allow_insecure: true,
            ..TlsOptions::default()
        };
        let err = connect_with("tls://127.0.0.1:1", t, &half_identity)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("go together"), "{err}");
        let missing_ca = TlsOptions {
            ca_cert_files: vec!["/nonexistent/ca.pem".into()],
            ..TlsOptions::default()
        };
        let err = connect_with("tls://127.0.0.1:1", t, &missing_ca)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ConnectError::TlsFile {
                    what: "--tls-ca-cert-files",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_file_without_the_expected_pem_block_is_refused() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "not a certificate").unwrap();
        let err = read_pem(file.path(), "--tls-ca-cert-files", "CERTIFICATE").unwrap_err();
        assert!(
            err.to_string().contains("no PEM CERTIFICATE block"),
            "{err}"
        );
    }
}
