//! The host firewall on this node (`--enable-host-firewall`): the node's network devices
//! (`--devices`, or every interface of the node namespace but loopback and endpoint
//! links) and the host endpoint the engine computes for this node, which runs on each of
//! them with one endpoint id.

use std::process::Command;

use anyhow::{Context, Result, bail};
use enforcer::datapath::EndpointInput;
use enforcer::datapath::attach::Interface;
use enforcer::engine::Engine;
use enforcer::identity::HOST;

use super::Agent;
use super::options::Options;

/// The host endpoint's id: the one id [`super::endpoints::free_id`] never gives a pod.
pub const HOST_ENDPOINT_ID: u16 = u16::MAX;

/// A node device the host firewall runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// Its name (`ul0`).
    pub name: String,
    /// Its index in the node namespace.
    pub ifindex: u32,
}

/// The devices of this node (empty without `--enable-host-firewall`). Call inside the
/// node's namespace.
///
/// # Errors
///
/// A named device does not exist, or the interfaces cannot be listed.
pub fn devices(opts: &Options) -> Result<Vec<Device>> {
    if !opts.enable_host_firewall {
        return Ok(Vec::new());
    }
    let names = if opts.devices.is_empty() {
        let mut cmd = Command::new("ip");
        cmd.args(["-o", "link", "show"]);
        let out = observe_plumbing::command::output(cmd, None)
            .context("cannot list the node's interfaces")?;
        parse_devices(&String::from_utf8_lossy(&out.stdout))
    } else {
        opts.devices.clone()
    };
    if names.is_empty() {
        bail!("--enable-host-firewall: the node has no network device to run on (see --devices)");
    }
    names
        .into_iter()
        .map(|name| {
            let ifindex = observe_plumbing::ifindex("", &name)
                .with_context(|| format!("--devices: no interface {name:?} on this node"))?;
            Ok(Device { name, ifindex })
        })
        .collect()
}

/// Interface names of `ip -o link show` lines (`2: ul0@if5: <…> …`) but loopback and
/// endpoint links (`lxc…`).
fn parse_devices(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let name = line.split(": ").nth(1)?.split('@').next()?.trim();
            (name != "lo" && !name.starts_with("lxc") && !name.is_empty()).then(|| name.to_string())
        })
        .collect()
}

/// Node `node`'s host endpoint on every device, for the datapath (none while the host
/// firewall is off).
pub fn inputs<'a>(engine: &'a Engine, node: &str, devices: &[Device]) -> Vec<EndpointInput<'a>> {
    let Some(host) = engine.host(node) else {
        return Vec::new();
    };
    devices
        .iter()
        .map(|d| EndpointInput {
            ifindex: d.ifindex,
            endpoint_id: HOST_ENDPOINT_ID,
            identity: HOST,
            policy: &host.policy,
            host: true,
        })
        .collect()
}

impl Agent {
    /// Attaches the host firewall's programs to devices not attached yet.
    pub(super) fn attach_devices(&mut self) -> Result<()> {
        for d in &self.devices {
            if self.attached.insert(d.ifindex) {
                self.datapath
                    .attach_device(&Interface::Index(d.ifindex))
                    .with_context(|| format!("cannot attach the host firewall to {}", d.name))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_leave_out_loopback_and_endpoint_links() {
        let text = "1: lo: <LOOPBACK,UP> mtu 65536 qdisc noqueue\n\
                    2: ul0@if7: <BROADCAST,UP> mtu 1500\n\
                    3: lxc1a2b3c4d@if2: <BROADCAST,UP> mtu 1500\n\
                    4: eth1: <BROADCAST> mtu 1500\n";
        assert_eq!(parse_devices(text), ["ul0", "eth1"]);
    }
}
