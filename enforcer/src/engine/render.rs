//! Human-readable text for engine state: identity descriptions, L4 keys, and the
//! per-endpoint map state listing used by golden tests and `observe policy ...`.

use std::fmt::Write;

use super::{Endpoint, Engine};
use crate::identity::{Scope, reserved_by_id};
use crate::labels::Source;
use crate::mapstate::{Action, DirectionPolicy, L7Kind, MapKey, MapValue, PortRange};
use crate::policy::Direction;
use crate::policy::ports::{ICMP, ICMPV6, icmp_type_name, is_portless, protocol_name};

impl Engine {
    /// A short description of an identity: `host`, `cidr:10.0.0.0/8`, the pods that have
    /// it (`shop/web`), or the nodes (`remote-node n2`). 0 is `*` (any peer).
    pub fn describe_identity(&self, id: u32) -> String {
        if id == 0 {
            return "*".into();
        }
        if let Some(r) = reserved_by_id(id) {
            return r.name.into();
        }
        match Scope::of(id) {
            Scope::Local => self
                .identity(id)
                .and_then(|i| {
                    i.labels
                        .iter()
                        .find(|l| l.source == Source::Cidr)
                        .map(|l| format!("cidr:{}", l.key))
                })
                .unwrap_or_else(|| "cidr".into()),
            Scope::RemoteNode => {
                let names: Vec<&str> = self
                    .nodes()
                    .filter(|n| n.identity == id)
                    .map(|n| n.node.name.as_str())
                    .collect();
                format!("remote-node {}", names.join(","))
            }
            _ => {
                let pods: Vec<String> = self
                    .endpoints_with_identity(id)
                    .map(|e| e.pod.key.to_string())
                    .collect();
                match pods.len() {
                    0 => "no endpoints".into(),
                    1..=3 => pods.join(","),
                    n => format!("{},{} +{} more", pods[0], pods[1], n - 2),
                }
            }
        }
    }

    /// `12345 (shop/web)`: an identity with its description.
    pub fn identity_text(&self, id: u32) -> String {
        if id == 0 {
            "*".into()
        } else {
            format!("{id} ({})", self.describe_identity(id))
        }
    }

    /// The map state of every endpoint, sorted by pod (the golden-file format).
    pub fn render_map_states(&self) -> String {
        let mut out = String::new();
        for e in self.endpoints() {
            out.push_str(&self.render_endpoint(e));
        }
        out
    }

    /// One endpoint's map state.
    pub fn render_endpoint(&self, e: &Endpoint) -> String {
        let mut out = format!(
            "endpoint {} identity {} node {}\n",
            e.pod.key,
            self.identity_text(e.identity),
            e.node
        );
        for dir in Direction::BOTH {
            self.render_direction(&mut out, dir, e.policy.direction(dir));
        }
        out
    }

    fn render_direction(&self, out: &mut String, dir: Direction, d: &DirectionPolicy) {
        if !d.enforced {
            let _ = writeln!(out, "  {dir}: not enforced");
            return;
        }
        let _ = writeln!(out, "  {dir}: enforced");
        for p in &d.selecting {
            let _ = writeln!(out, "    selected by {p}");
        }
        for (k, v) in &d.state.entries {
            let _ = writeln!(out, "    {}", self.entry_text(k, v));
        }
    }

    /// One entry: `ALLOW peer L4 <- rules`.
    pub fn entry_text(&self, k: &MapKey, v: &MapValue) -> String {
        let action = match v.action {
            Action::Allow => "ALLOW",
            Action::Deny => "DENY ",
        };
        let rules: Vec<String> = v.rules.iter().map(ToString::to_string).collect();
        let l7 = match v.l7 {
            L7Kind::None => "",
            L7Kind::Http => " [HTTP proxy]",
            L7Kind::Dns => " [DNS proxy]",
        };
        format!(
            "{action} {} {}{l7} <- {}",
            self.identity_text(k.identity),
            l4_text(k.protocol, k.ports),
            rules.join("; ")
        )
    }
}

/// `ANY`, `TCP/*`, `TCP/80`, `TCP/8080-8090`, `ICMP/EchoRequest`, `VRRP` (no ports).
pub fn l4_text(protocol: u8, ports: PortRange) -> String {
    if protocol == 0 {
        return "ANY".into();
    }
    let proto = protocol_name(protocol);
    if is_portless(protocol) {
        return proto;
    }
    if (protocol == ICMP || protocol == ICMPV6) && ports.lo == ports.hi {
        return format!(
            "{proto}/{}",
            icmp_type_name(
                u8::try_from(ports.lo).unwrap_or(u8::MAX),
                protocol == ICMPV6
            )
        );
    }
    format!("{proto}/{ports}")
}
