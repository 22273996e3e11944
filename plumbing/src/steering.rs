//! The node's routing for packets the datapath steers to a proxy socket: a rule sends
//! packets carrying the steering mark to a table whose only route delivers everything
//! locally (`local 0.0.0.0/0 dev lo`, and `local ::/0`), so a packet addressed to a pod's
//! DNS server reaches the proxy socket the datapath assigned it to instead of being
//! forwarded. The mark, its mask, the table and the rule's priority are the datapath's
//! contract (`probe_common::proxy`); the caller passes them.
//!
//! [`Steering::install`] also turns TCP early demux off in the namespace
//! ([`EARLY_DEMUX`]). A connection the datapath hairpins to the HTTP proxy at an endpoint's
//! ingress is accepted by a proxy socket in this namespace, so early demux would tie the
//! client's later packets to that socket before routing, and IP forwarding drops every
//! packet that already has a socket; they must be forwarded to the endpoint's veth, where
//! the datapath hairpins them too. (Sockets local to the node only lose a cache.)
//!
//! Installing is idempotent: the rule is replaced by deleting any rule of the same
//! priority first, and the routes are `replace`d, so a restarted agent ends with exactly
//! one copy. (`ip -batch` takes no family option per line, so these are single commands.)

use crate::command::ip_in;
use crate::error::PlumbingError;
use crate::sysctl;

/// The sysctl (`/proc/sys` path) [`Steering::install`] sets to 0.
pub const EARLY_DEMUX: &str = "net/ipv4/tcp_early_demux";

/// Where steered packets are routed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Steering {
    /// The mark the datapath sets.
    pub mark: u32,
    /// The bits of the mark the rule matches.
    pub mask: u32,
    /// The table with the local routes.
    pub table: u32,
    /// The rule's priority.
    pub priority: u32,
}

impl Steering {
    /// The `ip` commands that install the rules and routes, for both families.
    pub fn install_commands(&self) -> Vec<Vec<String>> {
        let Self {
            mark,
            mask,
            table,
            priority,
        } = *self;
        let mut commands = Vec::new();
        for family in ["-4", "-6"] {
            commands.push(format!(
                "{family} rule add fwmark {mark:#x}/{mask:#x} lookup {table} priority {priority}"
            ));
        }
        commands.push(format!(
            "-4 route replace local 0.0.0.0/0 dev lo table {table}"
        ));
        commands.push(format!("-6 route replace local ::/0 dev lo table {table}"));
        commands.iter().map(|c| words(c)).collect()
    }

    /// The commands that remove the rules (the routes go with an unused table).
    pub fn remove_commands(&self) -> Vec<Vec<String>> {
        ["-4", "-6"]
            .iter()
            .map(|family| words(&format!("{family} rule del priority {}", self.priority)))
            .collect()
    }

    /// Installs the rules and routes in `netns` (empty: the caller's namespace).
    ///
    /// # Errors
    ///
    /// [`PlumbingError`] when `ip` fails.
    pub fn install(&self, netns: &str) -> Result<(), PlumbingError> {
        // Rules left by an earlier run: `ip rule add` would add a second copy. A missing
        // rule fails the delete, which is what a first start looks like.
        for command in self.remove_commands() {
            let _ = run(netns, &command);
        }
        for command in self.install_commands() {
            run(netns, &command)?;
        }
        sysctl::write(netns, &[(EARLY_DEMUX, "0")])
    }
}

fn words(command: &str) -> Vec<String> {
    command.split(' ').map(str::to_string).collect()
}

fn run(netns: &str, command: &[String]) -> Result<(), PlumbingError> {
    let args: Vec<&str> = command.iter().map(String::as_str).collect();
    ip_in(netns, &args)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEERING: Steering = Steering {
        mark: 0xa00,
        mask: 0xf00,
        table: 2405,
        priority: 9,
    };

    #[test]
    fn the_commands_route_marked_packets_of_both_families_to_a_local_table() {
        let text = |commands: Vec<Vec<String>>| -> Vec<String> {
            commands.into_iter().map(|c| c.join(" ")).collect()
        };
        assert_eq!(
            text(STEERING.install_commands()),
            [
                "-4 rule add fwmark 0xa00/0xf00 lookup 2405 priority 9",
                "-6 rule add fwmark 0xa00/0xf00 lookup 2405 priority 9",
                "-4 route replace local 0.0.0.0/0 dev lo table 2405",
                "-6 route replace local ::/0 dev lo table 2405",
            ]
        );
        assert_eq!(
            text(STEERING.remove_commands()),
            ["-4 rule del priority 9", "-6 rule del priority 9"]
        );
    }
}
