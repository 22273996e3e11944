//! The node's routing for packets the datapath steers to a proxy socket: a rule sends
//! packets carrying the steering mark to a table whose only route delivers everything
//! locally (`local 0.0.0.0/0 dev lo`, and `local ::/0`), so a packet addressed to a pod's
//! DNS server reaches the proxy socket the datapath assigned it to instead of being
//! forwarded. The mark, its mask, the table and the rule's priority are the datapath's
//! contract (`probe_common::proxy`); the caller passes them.
//!
//! Installing is idempotent: the rule is replaced by deleting any rule of the same
//! priority first, and the routes are `replace`d, so a restarted agent ends with exactly
//! one copy.

use crate::command::ip_batch;
use crate::error::PlumbingError;

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
    /// The `ip -batch` script that installs the rules and routes, for both families.
    pub fn install_script(&self) -> String {
        let Self {
            mark,
            mask,
            table,
            priority,
        } = *self;
        let mut script = String::new();
        for family in ["-4", "-6"] {
            script.push_str(&format!(
                "{family} rule add fwmark {mark:#x}/{mask:#x} lookup {table} priority {priority}\n"
            ));
        }
        script.push_str(&format!("-4 route replace local 0.0.0.0/0 dev lo table {table}\n"));
        script.push_str(&format!("-6 route replace local ::/0 dev lo table {table}\n"));
        script
    }

    /// The script that removes the rules (the routes go with an unused table).
    pub fn remove_script(&self) -> String {
        let mut script = String::new();
        for family in ["-4", "-6"] {
            script.push_str(&format!("{family} rule del priority {}\n", self.priority));
        }
        script
    }

    /// Installs the rules and routes in `netns` (empty: the caller's namespace).
    ///
    /// # Errors
    ///
    /// [`PlumbingError`] when `ip` fails.
    pub fn install(&self, netns: &str) -> Result<(), PlumbingError> {
        // Rules left by an earlier run: `ip rule add` would add a second copy. A missing
        // rule fails the delete, which is what a first start looks like.
        let _ = ip_batch(netns, &self.remove_script());
        ip_batch(netns, &self.install_script())
    }
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
    fn the_script_routes_marked_packets_of_both_families_to_a_local_table() {
        assert_eq!(
            STEERING.install_script(),
            "-4 rule add fwmark 0xa00/0xf00 lookup 2405 priority 9\n\
             -6 rule add fwmark 0xa00/0xf00 lookup 2405 priority 9\n\
             -4 route replace local 0.0.0.0/0 dev lo table 2405\n\
             -6 route replace local ::/0 dev lo table 2405\n"
        );
        assert_eq!(
            STEERING.remove_script(),
            "-4 rule del priority 9\n-6 rule del priority 9\n"
        );
    }
}
