//! Links between two node namespaces, for multi-node labs: a veth `nl<k>` with one end in each
//! node, `10.255.255.4k+1/30` and `fe80::1` on the first node's end, `…4k+2/30` and `fe80::2` on
//! the second's, and on each node a /32 (/128) route per endpoint of the other node via the
//! other end. Routes are not transitive: only directly connected nodes reach each other.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use observe_plumbing::addr::NODE_LINK_NET;
use observe_plumbing::command;
use observe_plumbing::wiring::Addrs;

use crate::error::LabError;

/// How many links fit in the node-link range (64 /30 subnets in a /24).
pub(crate) const MAX_LINKS: usize = 64;

/// Adding or removing routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteOp {
    /// `ip route add`.
    Add,
    /// `ip route del`.
    Del,
}

/// One end of a link: its namespace and its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct End {
    netns: String,
    v4: Ipv4Addr,
    v6: Ipv6Addr,
}

/// A veth between two nodes.
#[derive(Debug)]
pub(crate) struct NodeLink {
    ifname: String,
    a: End,
    b: End,
}

impl NodeLink {
    /// Creates link number `index` between the nodes `a` and `b`, inside their namespaces.
    pub(crate) fn create(index: usize, a: &str, b: &str) -> Result<NodeLink, LabError> {
        let Some(k) = u8::try_from(index).ok().filter(|_| index < MAX_LINKS) else {
            return Err(LabError::NodeLinksExhausted { max: MAX_LINKS });
        };
        let [n1, n2, n3, _] = NODE_LINK_NET.octets();
        let end = |netns: &str, host: u8| End {
            netns: netns.to_owned(),
            v4: Ipv4Addr::new(n1, n2, n3, 4 * k + host),
            v6: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(host)),
        };
        let link = NodeLink {
            ifname: format!("nl{index}"),
            a: end(a, 1),
            b: end(b, 2),
        };
        command::ip(&[
            "-n",
            a,
            "link",
            "add",
            &link.ifname,
            "type",
            "veth",
            "peer",
            "name",
            &link.ifname,
            "netns",
            b,
        ])?;
        for end in [&link.a, &link.b] {
            command::ip_batch(&end.netns, &end_script(&link.ifname, end))?;
        }
        Ok(link)
    }

    /// Whether this link joins the nodes `x` and `y` (in either order).
    pub(crate) fn joins(&self, x: &str, y: &str) -> bool {
        (self.a.netns == x && self.b.netns == y) || (self.a.netns == y && self.b.netns == x)
    }

    /// Adds or removes, on the far end of this link, the routes to `endpoints` living on the node
    /// `node_netns`. Does nothing when the link does not touch that node.
    pub(crate) fn route(
        &self,
        op: RouteOp,
        node_netns: &str,
        endpoints: &[Addrs],
    ) -> Result<(), LabError> {
        let (near, far) = if self.a.netns == node_netns {
            (&self.a, &self.b)
        } else if self.b.netns == node_netns {
            (&self.b, &self.a)
        } else {
            return Ok(());
        };
        let script = route_script(op, &self.ifname, near, endpoints);
        if script.is_empty() {
            return Ok(());
        }
        Ok(command::ip_batch(&far.netns, &script)?)
    }
}

/// Brings one end up with its addresses.
fn end_script(ifname: &str, end: &End) -> String {
    format!(
        "link set {ifname} up\n\
         addr add {}/30 dev {ifname}\n\
         addr add {}/64 dev {ifname} nodad\n",
        end.v4, end.v6
    )
}

/// Routes (on the far end) to each endpoint via `gateway`, the end its node sits on.
fn route_script(op: RouteOp, ifname: &str, gateway: &End, endpoints: &[Addrs]) -> String {
    let verb = match op {
        RouteOp::Add => "add",
        RouteOp::Del => "del",
    };
    let ips = endpoints
        .iter()
        .flat_map(|e| std::iter::once(IpAddr::V4(e.v4)).chain(e.v6.map(IpAddr::V6)));
    ips.map(|ip| match ip {
        IpAddr::V4(v4) => format!("route {verb} {v4}/32 via {} dev {ifname}\n", gateway.v4),
        IpAddr::V6(v6) => format!("route {verb} {v6}/128 via {} dev {ifname}\n", gateway.v6),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_point_at_the_near_end_of_the_link() {
        let gateway = End {
            netns: "obs-abcdef-n1".into(),
            v4: Ipv4Addr::new(10, 255, 255, 5),
            v6: "fe80::1".parse().unwrap(),
        };
        let endpoints = [
            Addrs {
                v4: Ipv4Addr::new(10, 0, 1, 5),
                v6: Some("fd00::1:5".parse().unwrap()),
            },
            Addrs {
                v4: Ipv4Addr::new(10, 0, 1, 6),
                v6: None,
            },
        ];
        assert_eq!(
            route_script(RouteOp::Add, "nl1", &gateway, &endpoints),
            "route add 10.0.1.5/32 via 10.255.255.5 dev nl1\n\
             route add fd00::1:5/128 via fe80::1 dev nl1\n\
             route add 10.0.1.6/32 via 10.255.255.5 dev nl1\n"
        );
        assert_eq!(route_script(RouteOp::Del, "nl1", &gateway, &[]), "");
    }

    #[test]
    fn an_end_gets_its_slash_30_and_link_local_address() {
        let end = End {
            netns: "obs-abcdef-n2".into(),
            v4: Ipv4Addr::new(10, 255, 255, 2),
            v6: "fe80::2".parse().unwrap(),
        };
        assert_eq!(
            end_script("nl0", &end),
            "link set nl0 up\naddr add 10.255.255.2/30 dev nl0\naddr add fe80::2/64 dev nl0 nodad\n"
        );
    }
}
