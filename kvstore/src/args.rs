//! The command-line flags that name the cluster's store, shared by every program that
//! reads it (`observerd --kvstore`, `observe-relay --kvstore`), and the [`Config`] they
//! make. Behind the `clap` feature.

use std::path::PathBuf;

use crate::config::{Config, TlsFiles};
use crate::endpoints::parse_endpoints;
use crate::error::Error;

/// `--kvstore` and its TLS files.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct KvstoreArgs {
    /// The cluster's store: `etcd://HOST:PORT[,HOST:PORT...]`, or `etcds://...` for TLS.
    /// Example: --kvstore etcd://10.254.0.250:2379
    #[arg(long, value_name = "URL")]
    pub kvstore: Option<String>,
    /// PEM CA certificates that sign etcd's server certificate (`etcds://`).
    #[arg(long, requires = "kvstore")]
    pub kvstore_ca_file: Option<PathBuf>,
    /// PEM client certificate presented to etcd (mutual TLS).
    #[arg(long, requires_all = ["kvstore", "kvstore_key_file"])]
    pub kvstore_cert_file: Option<PathBuf>,
    /// PEM private key of --kvstore-cert-file.
    #[arg(long, requires_all = ["kvstore", "kvstore_cert_file"])]
    pub kvstore_key_file: Option<PathBuf>,
    /// Server name checked in etcd's certificate (default: the host in --kvstore).
    #[arg(long, requires = "kvstore")]
    pub kvstore_tls_server_name: Option<String>,
}

impl KvstoreArgs {
    /// The store's settings, when `--kvstore` is given.
    ///
    /// # Errors
    ///
    /// A `--kvstore` URL that does not parse.
    pub fn config(&self) -> Result<Option<Config>, Error> {
        let Some(url) = &self.kvstore else {
            return Ok(None);
        };
        let mut config = Config::new(parse_endpoints(url)?);
        if self.kvstore_ca_file.is_some() || self.kvstore_cert_file.is_some() {
            config.tls = Some(TlsFiles {
                ca: self.kvstore_ca_file.clone(),
                cert: self.kvstore_cert_file.clone(),
                key: self.kvstore_key_file.clone(),
                domain: self.kvstore_tls_server_name.clone(),
            });
        }
        Ok(Some(config))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        store: KvstoreArgs,
    }

    #[test]
    fn flags_make_a_config_with_tls_when_files_are_given() {
        let none = Cli::try_parse_from(["x"]).unwrap();
        assert!(none.store.config().unwrap().is_none());
        let tls = Cli::try_parse_from([
            "x",
            "--kvstore",
            "etcds://10.0.0.1:2379",
            "--kvstore-ca-file",
            "/ca.pem",
        ])
        .unwrap();
        let config = tls.store.config().unwrap().unwrap();
        assert_eq!(config.endpoints, ["https://10.0.0.1:2379"]);
        assert_eq!(config.tls.unwrap().ca, Some(PathBuf::from("/ca.pem")));
        assert!(
            Cli::try_parse_from(["x", "--kvstore-ca-file", "/ca.pem"]).is_err(),
            "needs --kvstore"
        );
        let bad = Cli::try_parse_from(["x", "--kvstore", "http://x"]).unwrap();
        assert!(bad.store.config().is_err());
    }
}
