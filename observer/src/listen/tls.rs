//! TLS for the TCP listener (rustls, ring provider): the server's certificate chain and
//! key, and optionally the CAs that sign client certificates, which makes it mutual TLS:
//! a client without a certificate from one of them is refused during the handshake.
//!
//! Files are read and checked when the agent starts, so a wrong path or a key that does
//! not match the certificate stops it with a message instead of failing every handshake.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// A client must finish its handshake in this time: a stalled handshake holds a task.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `--tls-*` files of the agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain of the server (leaf first).
    pub cert: PathBuf,
    /// PEM private key of the certificate.
    pub key: PathBuf,
    /// PEM CA certificates that sign client certificates; empty: clients are not
    /// verified (server-only TLS).
    pub client_cas: Vec<PathBuf>,
}

/// Why the TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read.
    #[error("cannot read {what} {path}: {source}", path = path.display())]
    Read {
        /// Which flag named it.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file holds no PEM block of the expected kind.
    #[error("{what} {path} holds no PEM {kind} block", path = path.display())]
    NotPem {
        /// Which flag named it.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The block kind expected (`CERTIFICATE`, `PRIVATE KEY`).
        kind: &'static str,
    },
}

impl TlsFiles {
    /// Whether client certificates are required (mTLS).
    pub fn is_mutual(&self) -> bool {
        !self.client_cas.is_empty()
    }

    /// Reads the files into tonic's server TLS settings.
    ///
    /// # Errors
    ///
    /// [`TlsError`] when a file is unreadable or not PEM of the right kind. (A key that
    /// does not match the certificate is reported by `Server::tls_config`.)
    pub fn load(&self) -> Result<ServerTlsConfig, TlsError> {
        let cert = read_pem(&self.cert, "--tls-cert-file", "CERTIFICATE")?;
        let key = read_pem(&self.key, "--tls-key-file", "PRIVATE KEY")?;
        let mut config = ServerTlsConfig::new()
            .identity(Identity::from_pem(cert, key))
            .timeout(HANDSHAKE_TIMEOUT);
        if self.is_mutual() {
            // One PEM bundle: rustls adds every certificate of it to the client roots.
            let mut bundle = Vec::new();
            for path in &self.client_cas {
                bundle.extend(read_pem(path, "--tls-client-ca-files", "CERTIFICATE")?);
                bundle.push(b'\n');
            }
            config = config
                .client_ca_root(Certificate::from_pem(bundle))
                .client_auth_optional(false);
        }
        Ok(config)
    }
}

/// Reads a PEM file that must hold a `kind` block (rustls would silently skip anything
/// else and fail later, during handshakes).
fn read_pem(path: &Path, what: &'static str, kind: &'static str) -> Result<Vec<u8>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    if !text
        .lines()
        .any(|l| l.starts_with("-----BEGIN ") && l.contains(kind))
    {
        return Err(TlsError::NotPem {
            what,
            path: path.to_path_buf(),
            kind,
        });
    }
    Ok(bytes)
}
