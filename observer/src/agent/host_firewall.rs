//! The host firewall on this node (`--enable-host-firewall`): the node's network devices
//! (`--devices`, or every interface of the node namespace but loopback and endpoint
//! links) and the host endpoint the engine computes for this node, which runs on each of
//! them with one endpoint id and decides new connections between the node and its pods
//! in the pods' programs; the check that a host policy leaves the agent its control
//! traffic.

use std::process::Command;

use anyhow::{Context, Result, bail};
use enforcer::datapath::EndpointInput;
use enforcer::datapath::attach::Interface;
use enforcer::datapath::loader::PinPaths;
use enforcer::engine::Engine;
use enforcer::identity::HOST;
use probe_common::endpoint::HOST_ENDPOINT_KEY;

use super::options::Options;
use super::{Agent, control_traffic};

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

/// Without `--enable-host-firewall`, detaches the host firewall a previous agent left on
/// the node's devices (their pinned links), before anything needs the network.
///
/// # Errors
///
/// A pin that cannot be removed.
pub fn release_if_disabled(opts: &Options) -> Result<()> {
    if opts.enable_host_firewall {
        return Ok(());
    }
    let paths = PinPaths::new(&opts.pin_root, &opts.node_name)?;
    let released = paths.release_device_links()?;
    if released > 0 {
        tracing::info!(
            "host firewall disabled: detached {released} device link(s) of a previous agent"
        );
    }
    Ok(())
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
    // Under its own key for the pods' programs (new connections between a pod and its
    // node), and on every device.
    std::iter::once(HOST_ENDPOINT_KEY)
        .chain(devices.iter().map(|d| d.ifindex))
        .map(|ifindex| EndpointInput {
            ifindex,
            endpoint_id: HOST_ENDPOINT_ID,
            identity: HOST,
            policy: &host.policy,
            host: true,
        })
        .collect()
}

impl Agent {
    /// Refuses a change (from `now` to `candidate`) under which a host policy would cut
    /// this agent's control traffic (see [`super::control_traffic`]), unless `force`.
    pub(super) fn guard_control(
        &self,
        now: &Engine,
        candidate: &Engine,
        force: bool,
    ) -> Result<(), super::Refused> {
        if force || !candidate.config().host_firewall {
            return Ok(());
        }
        // Every node's agent shares this one's kvstore; the listener's clients are known
        // for this node only.
        let mut flows = self.control_flows();
        for host in candidate.hosts().filter(|h| h.node != self.node) {
            flows.extend(control_traffic::kvstore_flows(
                &host.node,
                &self.control.kvstore,
            ));
        }
        let cut = control_traffic::cut_by(now, candidate, &flows);
        if cut.is_empty() {
            return Ok(());
        }
        Err(super::Refused::Invalid(control_traffic::refusal(&cut)))
    }

    /// This node's control flows, its listener's clients as connected now.
    pub(super) fn control_flows(&self) -> Vec<control_traffic::ControlFlow> {
        control_traffic::control_flows(
            &self.node,
            &self.control,
            &control_traffic::established_sockets(),
        )
    }

    /// Adds to `trace`'s side for this node's host endpoint how the host policy treats
    /// each of the agent's control flows, so a user sees why they flow (or would not).
    pub fn note_control_traffic(&self, trace: &mut enforcer::engine::trace::Trace) {
        let me = format!("node/{}", self.node);
        let mine = |side: &enforcer::engine::trace::SideTrace| {
            side.endpoint.as_deref() == Some(me.as_str())
        };
        if !mine(&trace.egress) && !mine(&trace.ingress) {
            return;
        }
        let engine = &self.engine;
        let lines: Vec<String> = self
            .control_flows()
            .iter()
            .filter_map(|f| {
                let t = engine.trace(&f.request).ok()?;
                Some(control_traffic::verdict_line(f, &t))
            })
            .collect();
        for side in [&mut trace.egress, &mut trace.ingress] {
            if mine(side) {
                side.notes.extend(lines.iter().cloned());
            }
        }
    }

    /// Detaches the host firewall from devices a previous agent ran it on and this one
    /// does not (it runs without `--enable-host-firewall`, or with other `--devices`):
    /// their programs would find no endpoint there and drop everything.
    pub(super) fn retire_stale_devices(&mut self) {
        let wanted: Vec<u32> = self.devices.iter().map(|d| d.ifindex).collect();
        for ifindex in self.datapath.device_links() {
            if wanted.contains(&ifindex) {
                continue;
            }
            match self.datapath.detach(&Interface::Index(ifindex)) {
                Ok(()) => tracing::info!("host firewall detached from interface {ifindex}"),
                Err(e) => tracing::warn!("detaching the host firewall from {ifindex}: {e}"),
            }
        }
    }

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
