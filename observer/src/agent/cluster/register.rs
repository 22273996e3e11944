//! This node's registration: its name, labels, addresses (given with `--node-ip`, or the
//! global addresses of its own interfaces, endpoint links and link-local addresses left
//! out), pod CIDR and gRPC address, written under its lease so it vanishes with the node.

use std::net::IpAddr;
use std::process::Command;

use anyhow::{Context, Result};
use observe_kvstore::Section;

use super::Link;
use super::record::{NodeRecord, encode};
use crate::agent::options::Options;

impl Link {
    /// Registers the node (the publisher keeps the registration alive).
    pub fn register(&self, record: &NodeRecord) {
        self.publisher
            .set(Section::Nodes, record.name.clone(), encode(record));
    }
}

/// The registration of this node from its options. Call inside the node's namespace.
///
/// # Errors
///
/// The node's addresses cannot be listed.
pub fn record(opts: &Options) -> Result<NodeRecord> {
    let addresses = if opts.cluster.node_ip.is_empty() {
        node_addresses()?
    } else {
        opts.cluster.node_ip.clone()
    };
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(NodeRecord {
        name: opts.node_name.clone(),
        labels: opts.cluster.node_label.iter().cloned().collect(),
        addresses,
        pod_cidr: opts.pod_cidr.to_string(),
        grpc_address: opts
            .cluster
            .advertise_address
            .clone()
            .or_else(|| opts.listen_address.clone()),
        started,
    })
}

/// The global addresses of the current namespace's interfaces, endpoint links (`lxc…`)
/// and link-local addresses left out.
fn node_addresses() -> Result<Vec<IpAddr>> {
    let mut cmd = Command::new("ip");
    cmd.args(["-o", "addr", "show", "scope", "global"]);
    let out =
        observe_plumbing::command::output(cmd, None).context("cannot list the node's addresses")?;
    Ok(parse_addresses(&String::from_utf8_lossy(&out.stdout)))
}

/// Parses `ip -o addr show` lines (`2: ul0    inet 10.254.0.2/24 brd … scope global ul0`).
fn parse_addresses(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let ifname = words.nth(1)?.split('@').next()?;
            let _family = words.next()?;
            let ip: IpAddr = words.next()?.split('/').next()?.parse().ok()?;
            (!ifname.starts_with("lxc") && !link_local(ip)).then_some(ip)
        })
        .collect()
}

fn link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_unicast_link_local(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_links_and_link_local_addresses_are_not_the_nodes() {
        let text = "2: ul0    inet 10.254.0.2/24 brd 10.254.0.255 scope global ul0\\       valid_lft forever\n\
                    3: lxc1a2b3c4d@if2    inet 169.254.1.1/32 scope global lxc1a2b3c4d\n\
                    4: eth1    inet6 fd00:254::2/64 scope global \\       valid_lft forever\n\
                    5: eth2    inet 169.254.9.9/16 scope global eth2\n";
        let ips: Vec<String> = parse_addresses(text)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(ips, ["10.254.0.2", "fd00:254::2"]);
    }
}
