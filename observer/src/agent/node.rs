//! Preparing the node at start: refuse a private mount namespace (the endpoint namespaces
//! the agent creates there would be invisible to every other process), enter the node's
//! network namespace, and turn IP forwarding on in it as Cilium's agent does (a node that
//! does not forward drops everything endpoints send beyond it). [`forwarding_report`] then
//! tells `ServerStatus` what the node does now.

use anyhow::{Context, Result, bail};
use observe_plumbing::{PlumbingError, forwarding, mounts};
use observe_proto::observer::NodeForwarding;

use super::options::Options;

/// Why the agent refuses to start in a private mount namespace.
const PRIVATE_MOUNTS: &str = "refusing to start: observerd runs in a private mount namespace \
    (as under `ip netns exec` or `unshare -m`), so the endpoint namespaces it creates under \
    /var/run/netns would be invisible to every other process. Start it from the host's mount \
    namespace and name the node with --node-netns NAME instead of `ip netns exec NAME`";

/// Checks that the endpoint namespaces will be visible, then enters the node's network
/// namespace (`--node-netns`) or finds the name of the current one (empty when it has none:
/// the agent runs in a real host's namespace and wires endpoints to it). Call before
/// starting any other thread: threads inherit the namespace.
///
/// # Errors
///
/// A private mount namespace, or a node namespace that cannot be entered.
pub fn enter_node(opts: &Options) -> Result<String> {
    check_mounts(mounts::netns_mounts_visible())?;
    match &opts.node_netns {
        Some(n) => {
            observe_plumbing::enter_netns(n)
                .with_context(|| format!("cannot enter the node namespace {n}"))?;
            Ok(n.clone())
        }
        // An unnamed namespace is a real host's own: endpoints are wired to it.
        None => Ok(observe_plumbing::current_netns_name().unwrap_or_default()),
    }
}

/// What the mount check's answer means for the start: refuse when the namespaces would be
/// hidden; when it cannot tell (PID 1's mount table unreadable), say so and go on.
fn check_mounts(visible: Result<bool, PlumbingError>) -> Result<()> {
    match visible {
        Ok(true) => Ok(()),
        Ok(false) => bail!(PRIVATE_MOUNTS),
        Err(e) => {
            tracing::warn!(
                "cannot tell whether other processes will see the endpoint namespaces: {e}"
            );
            Ok(())
        }
    }
}

/// Turns IP forwarding on in the node namespace wherever it is off, and logs each switch it
/// flips; returns them.
///
/// # Errors
///
/// A switch that is off and cannot be turned on (a read-only `/proc/sys`, say).
pub fn enable_forwarding(node_netns: &str) -> Result<Vec<&'static str>> {
    let flipped = forwarding::enable(node_netns)
        .with_context(|| format!("cannot turn IP forwarding on in {}", describe(node_netns)))?;
    for switch in &flipped {
        tracing::info!(
            "turned {switch} on in {}: it was off, so the node would have dropped what endpoints send beyond it",
            describe(node_netns)
        );
    }
    Ok(flipped)
}

/// The node's forwarding as `ServerStatus` reports it, read at each call; `None` when the
/// switches cannot be read (the node namespace is gone, say). `enabled_at_start` is what
/// [`enable_forwarding`] returned.
pub fn forwarding_report(
    node_netns: String,
    enabled_at_start: Vec<&'static str>,
) -> impl Fn() -> Option<NodeForwarding> + Send + Sync + 'static {
    move || {
        let now = forwarding::read(&node_netns).ok()?;
        Some(NodeForwarding {
            ipv4: now.ipv4,
            ipv6: now.ipv6,
            enabled_at_start: enabled_at_start.iter().map(ToString::to_string).collect(),
        })
    }
}

/// The node namespace for messages.
fn describe(node_netns: &str) -> String {
    if node_netns.is_empty() {
        "the host's network namespace".to_string()
    } else {
        format!("the node namespace {node_netns}")
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn a_private_mount_namespace_is_refused_with_a_pointer_to_node_netns() {
        let err = check_mounts(Ok(false)).unwrap_err().to_string();
        assert!(err.contains("ip netns exec"), "{err}");
        assert!(err.contains("--node-netns"), "{err}");
        assert!(
            Options::command()
                .get_arguments()
                .any(|a| a.get_long() == Some("node-netns")),
            "the refusal names a flag observerd has"
        );
        assert!(check_mounts(Ok(true)).is_ok());
        let unknown = PlumbingError::Io {
            path: "/proc/1/mountinfo".into(),
            source: std::io::ErrorKind::PermissionDenied.into(),
        };
        assert!(
            check_mounts(Err(unknown)).is_ok(),
            "an unknown does not refuse"
        );
    }
}
