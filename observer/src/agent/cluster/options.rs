//! `observerd`'s cluster options: the kvstore (etcd) that makes this node part of a cluster,
//! its TLS files, and what the node registers there. Without `--kvstore` the node runs alone.

use std::time::Duration;

/// Options of a node in a cluster.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClusterOptions {
    /// The cluster's store (`--kvstore`; without it the node runs alone: objects,
    /// identities, nodes and the ipcache are shared there) and its TLS files.
    #[command(flatten)]
    pub store: observe_kvstore::KvstoreArgs,
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
