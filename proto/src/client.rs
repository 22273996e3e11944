//! Connecting to an agent: the `--server` addresses `observe` accepts, like
//! `hubble --server`: `unix:///run/observe/observer.sock` (or `unix:PATH`), `host:port`,
//! `http://host:port`.

use std::path::PathBuf;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};

/// The default server: the agent's unix socket.
pub const DEFAULT_SERVER: &str = "unix:///run/observe/observer.sock";

/// A parsed `--server` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Server {
    /// A unix socket path.
    Unix(PathBuf),
    /// A TCP address, as a URI (`http://host:port`).
    Tcp(String),
}

/// Why a server address is invalid or unreachable.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The address does not parse.
    #[error("invalid server address {0:?}: expected unix:///PATH, host:port or http://host:port")]
    Address(String),
    /// TLS addresses are not supported by this client.
    #[error("server {0:?}: TLS is not supported by this client yet; use unix:// or plain http://")]
    Tls(String),
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
        if s.starts_with("tls://") || s.starts_with("https://") {
            return Err(ConnectError::Tls(s.into()));
        }
        let uri = if s.starts_with("http://") {
            s.to_string()
        } else {
            format!("http://{s}")
        };
        match uri.parse::<Uri>() {
            Ok(u) if u.host().is_some() && u.port().is_some() => Ok(Self::Tcp(uri)),
            _ => Err(ConnectError::Address(s.into())),
        }
    }
}

/// Opens a channel to `server`, failing after `timeout` when nothing answers.
pub async fn connect(server: &str, timeout: Duration) -> Result<Channel, ConnectError> {
    let parsed = Server::parse(server)?;
    let failed = |source| ConnectError::Connect {
        server: server.to_string(),
        source,
    };
    match parsed {
        Server::Tcp(uri) => {
            let endpoint =
                Endpoint::from_shared(uri).map_err(|_| ConnectError::Address(server.into()))?;
            endpoint
                .connect_timeout(timeout)
                .connect()
                .await
                .map_err(failed)
        }
        Server::Unix(path) => {
            // The URI is a placeholder: the connector ignores it and dials the socket.
            let endpoint = Endpoint::from_static("http://localhost").connect_timeout(timeout);
            endpoint
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

#[cfg(test)]
mod tests {
    use super::*;

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
            Server::Tcp("http://localhost:4245".into())
        );
        assert_eq!(
            Server::parse("http://10.0.0.1:4244").unwrap(),
            Server::Tcp("http://10.0.0.1:4244".into())
        );
        assert!(matches!(
            Server::parse("tls://x:1"),
            Err(ConnectError::Tls(_))
        ));
        assert!(matches!(
            Server::parse("nohostport"),
            Err(ConnectError::Address(_))
        ));
        assert!(matches!(
            Server::parse("unix://"),
            Err(ConnectError::Address(_))
        ));
    }
}
