//! `observerd`'s cluster options: the kvstore (etcd) that makes this node part of a cluster,
//! its TLS files, and what the node registers there. Without `--kvstore` the node runs alone.

use std::path::PathBuf;
use std::time::Duration;

/// Options of a node in a cluster.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClusterOptions {
    /// The cluster's store: `etcd://HOST:PORT[,HOST:PORT...]`, or `etcds://...` for TLS.
    /// Objects, identities, nodes and the ipcache are shared there; without it the node
    /// runs alone. Example: --kvstore etcd://10.254.0.250:2379
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
    /// How long this node's registration, ipcache entries and identity references outlive
    /// it in etcd after it stops renewing them (a dead node disappears then). A Go
    /// duration: 15s
    #[arg(long, default_value = "15s", value_parser = observe_flags::duration::parse_timeout)]
    pub kvstore_lease_ttl: Duration,
    /// How long an identity no node uses is kept before it is collected.
    #[arg(long, default_value = "5m", value_parser = observe_flags::duration::parse_timeout)]
    pub identity_gc_grace: Duration,
    /// This node's addresses as other nodes see them (its InternalIPs; traffic from them is
    /// `remote-node` elsewhere), comma-separated. Default: the addresses of the node's
    /// interfaces other than loopback and endpoint links.
    #[arg(long, value_delimiter = ',', value_name = "IP")]
    pub node_ip: Vec<std::net::IpAddr>,
    /// Labels of this node (`key=value`, repeated), for `fromNodes`/`toNodes` and host
    /// policies. Example: --node-label zone=a
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_label)]
    pub node_label: Vec<(String, String)>,
    /// The observer gRPC address other components (observe-relay) reach this node at,
    /// registered with the node. Default: --listen-address when given.
    #[arg(long, value_name = "HOST:PORT")]
    pub advertise_address: Option<String>,
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_need_a_key_and_an_equals_sign() {
        assert_eq!(parse_label("zone=a").unwrap(), ("zone".into(), "a".into()));
        assert_eq!(
            parse_label("empty=").unwrap(),
            ("empty".into(), String::new())
        );
        assert!(parse_label("=a").unwrap_err().contains("\"=a\""));
        assert!(parse_label("zone").is_err());
    }
}
