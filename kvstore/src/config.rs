//! [`Config`] and [`TlsFiles`]: how to reach etcd (endpoints, TLS files, key prefix,
//! timeouts), and their translation into the client's connect options.

use std::path::{Path, PathBuf};
use std::time::Duration;

use etcd_client::{Certificate, ConnectOptions, Identity, TlsOptions};

use crate::error::Error;

/// The prefix every key of the store lives under unless configured otherwise.
pub const DEFAULT_PREFIX: &str = "/observe/v1/";

/// PEM files for TLS to etcd (`etcds://`): the CA that signed the servers' certificates,
/// and a client certificate and key when etcd asks for one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA certificate (PEM) to verify the servers with.
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM); needs `key`.
    pub cert: Option<PathBuf>,
    /// Client private key (PEM); needs `cert`.
    pub key: Option<PathBuf>,
    /// The name to verify the servers' certificates against, when not the endpoint's host.
    pub domain: Option<String>,
}

/// How to reach etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Endpoint URLs, `http://HOST:PORT` or `https://HOST:PORT` (see
    /// [`crate::parse_endpoints`]).
    pub endpoints: Vec<String>,
    /// TLS settings; required for `https://` endpoints, refused for `http://` ones.
    pub tls: Option<TlsFiles>,
    /// The prefix of every key, ending with `/`.
    pub prefix: String,
    /// How long connecting (and the first request of [`crate::Store::connect`]) may take.
    pub connect_timeout: Duration,
    /// How long any other request may take.
    pub request_timeout: Duration,
}

impl Config {
    /// Plain settings for `endpoints`: prefix [`DEFAULT_PREFIX`], connect timeout 2 s,
    /// request timeout 5 s, no TLS.
    pub fn new(endpoints: Vec<String>) -> Self {
        Config {
            endpoints,
            tls: None,
            prefix: DEFAULT_PREFIX.to_owned(),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
        }
    }

    /// The client's connect options: timeouts, HTTP/2 keep-alive (so a dead peer is noticed
    /// within about one request timeout) and TLS.
    ///
    /// # Errors
    ///
    /// [`Error::TlsConfig`] for TLS settings that do not fit the endpoints or each other;
    /// [`Error::TlsFile`] when a file cannot be read.
    pub(crate) fn connect_options(&self) -> Result<ConnectOptions, Error> {
        let options = ConnectOptions::new()
            .with_connect_timeout(self.connect_timeout)
            .with_timeout(self.request_timeout)
            .with_keep_alive(self.request_timeout, self.request_timeout)
            .with_keep_alive_while_idle(true);
        let https = self.endpoints.iter().any(|e| e.starts_with("https://"));
        let http = self.endpoints.iter().any(|e| e.starts_with("http://"));
        match (&self.tls, https, http) {
            (_, true, true) => Err(Error::TlsConfig("endpoints mix http:// and https://")),
            (None, true, _) => Err(Error::TlsConfig(
                "https:// (etcds://) endpoints need TLS settings, at least a CA",
            )),
            (Some(_), false, _) => Err(Error::TlsConfig(
                "TLS settings given for http:// (etcd://) endpoints: use etcds://",
            )),
            (Some(tls), true, false) => Ok(options.with_tls(tls_options(tls)?)),
            (None, false, _) => Ok(options),
        }
    }
}

/// Reads the PEM files into the client's TLS options.
fn tls_options(files: &TlsFiles) -> Result<TlsOptions, Error> {
    let mut tls = TlsOptions::new();
    if let Some(ca) = &files.ca {
        tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
    }
    match (&files.cert, &files.key) {
        (Some(cert), Some(key)) => tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?)),
        (None, None) => {}
        _ => {
            return Err(Error::TlsConfig(
                "a client certificate needs its key and vice versa",
            ));
        }
    }
    if let Some(domain) = &files.domain {
        tls = tls.domain_name(domain.clone());
    }
    Ok(tls)
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::TlsFile {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_must_match_the_scheme() {
        let plain = Config::new(vec!["http://a:1".into()]);
        assert!(plain.connect_options().is_ok());
        let mut tls = Config::new(vec!["https://a:1".into()]);
        assert!(matches!(tls.connect_options(), Err(Error::TlsConfig(_))));
        tls.tls = Some(TlsFiles::default());
        assert!(tls.connect_options().is_ok());
        tls.tls = Some(TlsFiles {
            cert: Some("/nonexistent/cert.pem".into()),
            ..TlsFiles::default()
        });
        assert!(matches!(tls.connect_options(), Err(Error::TlsConfig(_))));
        tls.tls = Some(TlsFiles {
            ca: Some("/nonexistent/ca.pem".into()),
            ..TlsFiles::default()
        });
        let err = tls.connect_options().expect_err("missing CA file");
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
        let mut mixed = Config::new(vec!["https://a:1".into(), "http://b:1".into()]);
        mixed.tls = Some(TlsFiles::default());
        assert!(matches!(mixed.connect_options(), Err(Error::TlsConfig(_))));
    }

    #[test]
    fn defaults() {
        let cfg = Config::new(vec![]);
        assert_eq!(cfg.prefix, "/observe/v1/");
        assert_eq!(cfg.connect_timeout, Duration::from_secs(2));
        assert_eq!(cfg.request_timeout, Duration::from_secs(5));
    }
}
