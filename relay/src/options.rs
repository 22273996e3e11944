//! `observe-relay`'s command line, named after Hubble Relay's flags where one exists
//! (`--listen-address`, `--peer-service` becomes `--peer`/`--kvstore`, `--tls-hubble-*`,
//! `--tls-relay-*`, `--disable-client-tls`, `--disable-server-tls`, `--sort-buffer-*`,
//! `--dial-timeout`, `--retry-timeout`), so a Hubble Relay user finds their way.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use observe_flags::duration::parse_timeout;
use observe_proto::client::TlsOptions;

use crate::peers::Dialer;
use crate::sort_buffer;

/// One Hubble-compatible flow stream for every node of a cluster.
#[derive(Parser, Debug, Clone)]
#[command(name = "observe-relay", version)]
pub struct Options {
    /// Where the relay serves `observer.Observer`: `HOST:PORT` (`:4245` is every address)
    /// or `unix:///PATH`. TCP needs --tls-relay-server-cert-file and
    /// --tls-relay-server-key-file, or --disable-server-tls.
    #[arg(long, default_value = ":4245", value_name = "ADDRESS")]
    pub listen_address: String,
    /// Serve plaintext on a TCP --listen-address.
    #[arg(long)]
    pub disable_server_tls: bool,
    /// PEM certificate chain of the relay's TLS listener.
    #[arg(long, requires = "tls_relay_server_key_file")]
    pub tls_relay_server_cert_file: Option<PathBuf>,
    /// PEM private key of --tls-relay-server-cert-file.
    #[arg(long, requires = "tls_relay_server_cert_file")]
    pub tls_relay_server_key_file: Option<PathBuf>,
    /// PEM CAs that sign client certificates: clients without one are refused (mTLS).
    #[arg(long, value_delimiter = ',', requires = "tls_relay_server_cert_file")]
    pub tls_relay_client_ca_files: Vec<PathBuf>,

    /// A node to read from, `NAME=ADDRESS` (or `ADDRESS`, named after itself); repeated.
    /// ADDRESS as `observe --server` takes it: `host:port`, `tls://host:port`,
    /// `unix:///PATH`.
    #[arg(long = "peer", value_name = "NAME=ADDRESS", value_parser = parse_peer)]
    pub peers: Vec<(String, String)>,
    /// The cluster's store (`--kvstore`): every node registered there with an observer
    /// address is read, and nodes come and go with their registrations. Its TLS files.
    #[command(flatten)]
    pub store: observe_kvstore::KvstoreArgs,

    /// Connect to nodes in plaintext (default: TLS).
    #[arg(long)]
    pub disable_client_tls: bool,
    /// PEM CAs that sign the nodes' certificates (default: the system roots).
    #[arg(long, value_delimiter = ',')]
    pub tls_hubble_server_ca_files: Vec<PathBuf>,
    /// PEM client certificate the relay presents to nodes (their mTLS).
    #[arg(long, requires = "tls_hubble_client_key_file")]
    pub tls_hubble_client_cert_file: Option<PathBuf>,
    /// PEM private key of --tls-hubble-client-cert-file.
    #[arg(long, requires = "tls_hubble_client_cert_file")]
    pub tls_hubble_client_key_file: Option<PathBuf>,
    /// The name each node's certificate must carry, `{node}` standing for the node's
    /// name (default: the host of its address). Example:
    /// --tls-hubble-server-name '{node}.default.hubble-grpc.cilium.io'
    #[arg(long)]
    pub tls_hubble_server_name: Option<String>,

    /// Responses the sort buffer holds while merging.
    #[arg(long, default_value_t = sort_buffer::DEFAULT_MAX)]
    pub sort_buffer_len_max: usize,
    /// The longest a response waits in the sort buffer. A Go duration.
    #[arg(long, default_value = "1s", value_parser = parse_timeout)]
    pub sort_buffer_drain_timeout: Duration,
    /// How long a connection to a node may take.
    #[arg(long, default_value = "5s", value_parser = parse_timeout)]
    pub dial_timeout: Duration,
    /// The longest wait before dialing an unavailable node again (backoff up to this).
    #[arg(long, default_value = "30s", value_parser = parse_timeout)]
    pub retry_timeout: Duration,
    /// How often each connected node is checked.
    #[arg(long, default_value = "5s", value_parser = parse_timeout)]
    pub health_check_interval: Duration,

    /// Serve the relay's metrics at `http://ADDRESS/metrics`.
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_listen_address: Option<String>,
    /// The name on the relay's own node status events.
    #[arg(long, default_value = "observe-relay")]
    pub relay_name: String,
}

/// Why the options cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InvalidOptions {
    /// Nothing says which nodes to read.
    #[error("no nodes to read from: give --peer NAME=ADDRESS (repeated) or --kvstore URL")]
    NoPeers,
    /// Plaintext TCP without saying so.
    #[error(
        "--listen-address {0} is TCP: give --tls-relay-server-cert-file and --tls-relay-server-key-file, or --disable-server-tls"
    )]
    PlaintextListener(String),
    /// Two peers with one name.
    #[error("--peer {0:?} is given twice")]
    DuplicatePeer(String),
}

impl Options {
    /// Checks what clap cannot.
    ///
    /// # Errors
    ///
    /// [`InvalidOptions`].
    pub fn validate(&self) -> Result<(), InvalidOptions> {
        if self.peers.is_empty() && self.store.kvstore.is_none() {
            return Err(InvalidOptions::NoPeers);
        }
        let unix = self.listen_address.starts_with("unix:");
        if !unix && !self.disable_server_tls && self.tls_relay_server_cert_file.is_none() {
            return Err(InvalidOptions::PlaintextListener(
                self.listen_address.clone(),
            ));
        }
        self.static_peers().map(drop)
    }

    /// The `--peer`s by name.
    ///
    /// # Errors
    ///
    /// [`InvalidOptions::DuplicatePeer`].
    pub fn static_peers(&self) -> Result<BTreeMap<String, String>, InvalidOptions> {
        let mut out = BTreeMap::new();
        for (name, address) in &self.peers {
            if out.insert(name.clone(), address.clone()).is_some() {
                return Err(InvalidOptions::DuplicatePeer(name.clone()));
            }
        }
        Ok(out)
    }

    /// How nodes are dialed.
    pub fn dialer(&self) -> Dialer {
        let tls = (!self.disable_client_tls).then(|| TlsOptions {
            enabled: true,
            ca_cert_files: self.tls_hubble_server_ca_files.clone(),
            client_cert_file: self.tls_hubble_client_cert_file.clone(),
            client_key_file: self.tls_hubble_client_key_file.clone(),
            server_name: self.tls_hubble_server_name.clone(),
            allow_insecure: false,
        });
        Dialer {
            tls,
            dial_timeout: self.dial_timeout,
            retry_timeout: self.retry_timeout,
            health_interval: self.health_check_interval,
        }
    }
}

/// `NAME=ADDRESS`, or `ADDRESS` named after itself.
fn parse_peer(text: &str) -> Result<(String, String), String> {
    let (name, address) = match text.split_once('=') {
        Some((name, address)) => (name, address),
        None => (text, text),
    };
    if name.is_empty() || address.is_empty() {
        return Err(format!("expected NAME=ADDRESS, got {text:?}"));
    }
    observe_proto::client::Server::parse(address).map_err(|e| e.to_string())?;
    Ok((name.to_string(), address.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        let o =
            Options::try_parse_from(std::iter::once("observe-relay").chain(args.iter().copied()))
                .map_err(|e| e.to_string())?;
        o.validate().map_err(|e| e.to_string())?;
        Ok(o)
    }

    #[test]
    fn peers_and_listeners_are_checked() {
        let o = parse(&[
            "--peer",
            "n1=10.0.0.1:4244",
            "--peer",
            "10.0.0.2:4244",
            "--disable-server-tls",
        ])
        .unwrap();
        let peers = o.static_peers().unwrap();
        assert_eq!(peers["n1"], "10.0.0.1:4244");
        assert_eq!(peers["10.0.0.2:4244"], "10.0.0.2:4244");
        assert_eq!(o.sort_buffer_len_max, 100);
        assert_eq!(o.sort_buffer_drain_timeout, Duration::from_secs(1));
        assert!(o.dialer().tls.is_some());

        assert!(
            parse(&["--disable-server-tls"])
                .unwrap_err()
                .contains("no nodes")
        );
        assert!(
            parse(&["--peer", "n1=x:1"])
                .unwrap_err()
                .contains("--disable-server-tls")
        );
        assert!(parse(&["--peer", "n1=x:1", "--listen-address", "unix:///tmp/r.sock"]).is_ok());
        let twice = parse(&["--peer", "a=x:1", "--peer", "a=y:1", "--disable-server-tls"]);
        assert!(twice.unwrap_err().contains("twice"));
        assert!(
            parse(&["--peer", "n1=not an address"])
                .unwrap_err()
                .contains("not an address")
        );
        let plain = parse(&[
            "--peer",
            "n1=x:1",
            "--disable-server-tls",
            "--disable-client-tls",
        ]);
        assert!(plain.unwrap().dialer().tls.is_none());
    }
}
