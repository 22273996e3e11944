//! The reachability matrix: for each port, which pod can reach which, decided from the
//! endpoints' map states (the datapath's decision), like the Kubernetes e2e truth tables.
//!
//! A workload is one row and one column (`shop/deployment/web`), not one per replica: its
//! pods share labels and so identity and policy. Its cell to itself is the verdict from
//! its first pod to its second (loopback, always allowed, when it has one pod).

use std::collections::BTreeSet;

use serde::Serialize;

use super::Engine;
use crate::cluster::PodKey;
use crate::mapstate::{L7Kind, Verdict};
use crate::policy::model::{L4, PortSel};
use crate::policy::ports::{TCP, is_portless, parse_protocol_name, protocol_name};

/// Most ports derived from the policies when none are asked for.
const MAX_DEFAULT_PORTS: usize = 8;

/// One cell: the verdict of `from` → `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Cell {
    /// Allowed (`.`).
    Allowed,
    /// Allowed at L3/L4, through an L7 proxy that judges each request or query (`L`: an
    /// entry on the way carries HTTP or DNS rules).
    L7,
    /// No rule allowed it under default deny (`X`, drop reason 133).
    DefaultDenied,
    /// A deny rule matched (`D`, drop reason 181).
    Denied,
}

impl Cell {
    /// The table symbol.
    pub fn symbol(&self) -> char {
        match self {
            Self::Allowed => '.',
            Self::L7 => 'L',
            Self::DefaultDenied => 'X',
            Self::Denied => 'D',
        }
    }
}

/// The matrix for one protocol and port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortMatrix {
    /// Protocol name.
    pub protocol: String,
    /// Destination port (ICMP type for ICMP).
    pub port: u16,
    /// `cells[i][j]`: from pod `i` to pod `j`.
    pub cells: Vec<Vec<Cell>>,
}

/// The whole matrix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Matrix {
    /// Pods and workloads, in row and column order.
    pub pods: Vec<String>,
    /// One table per port.
    pub ports: Vec<PortMatrix>,
}

/// A row and column of the matrix: the pod it is a source as, and the pod it is a
/// destination as.
struct Member<'a> {
    name: String,
    from: &'a PodKey,
    to: &'a PodKey,
}

impl<'a> Member<'a> {
    fn pod(key: &'a PodKey) -> Self {
        Self {
            name: key.to_string(),
            from: key,
            to: key,
        }
    }
}

impl Engine {
    /// The reachability matrix for `ports` (protocol, port); empty means the ports the
    /// policies mention (or TCP/80 if none).
    pub fn matrix(&self, ports: &[(u8, u16)]) -> Matrix {
        let ports = if ports.is_empty() {
            self.policy_ports()
        } else {
            ports.to_vec()
        };
        let members = self.members();
        let tables = ports
            .iter()
            .map(|&(proto, port)| self.port_matrix(&members, proto, port))
            .collect();
        Matrix {
            pods: members.into_iter().map(|m| m.name).collect(),
            ports: tables,
        }
    }

    /// Rows and columns: bare pods, and each workload once, in endpoint order.
    fn members(&self) -> Vec<Member<'_>> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for e in self.endpoints() {
            let key = &e.pod.key;
            let Some(w) = &e.pod.owner else {
                out.push(Member::pod(key));
                continue;
            };
            if !seen.insert(w) {
                continue;
            }
            let pods: Vec<&PodKey> = self.workload_pods(w).collect();
            let from = pods.first().copied().unwrap_or(key);
            out.push(Member {
                name: format!("{}/{}", w.namespace, w.short()),
                from,
                to: pods.get(1).copied().unwrap_or(from),
            });
        }
        out
    }

    fn port_matrix(&self, members: &[Member<'_>], protocol: u8, port: u16) -> PortMatrix {
        let cells = members
            .iter()
            .map(|from| {
                members
                    .iter()
                    .map(|to| self.cell(from.from, to.to, protocol, port))
                    .collect()
            })
            .collect();
        PortMatrix {
            protocol: protocol_name(protocol),
            port,
            cells,
        }
    }

    fn cell(&self, from: &PodKey, to: &PodKey, protocol: u8, port: u16) -> Cell {
        let (Some(src), Some(dst)) = (self.endpoint(from), self.endpoint(to)) else {
            return Cell::Allowed;
        };
        if from == to {
            return Cell::Allowed; // loopback never leaves the pod
        }
        let egress = src.policy.egress.decide(dst.identity, protocol, port);
        let ingress = dst.policy.ingress.decide(src.identity, protocol, port);
        let proxied = [&egress, &ingress]
            .iter()
            .any(|l| l.entry.is_some_and(|(_, v)| v.l7 != L7Kind::None));
        // The packet meets the source's egress policy first.
        match [egress.verdict, ingress.verdict]
            .into_iter()
            .find(|v| !v.is_allowed())
        {
            None if proxied => Cell::L7,
            None => Cell::Allowed,
            Some(Verdict::Denied) => Cell::Denied,
            Some(_) => Cell::DefaultDenied,
        }
    }

    /// Numeric ports the policies mention, TCP unless the rule names another protocol.
    fn policy_ports(&self) -> Vec<(u8, u16)> {
        let mut out = BTreeSet::new();
        for p in self.policies() {
            for rule in &p.rules {
                for s in rule
                    .ingress
                    .iter()
                    .chain(&rule.egress)
                    .chain(&rule.ingress_deny)
                    .chain(&rule.egress_deny)
                {
                    let L4::Ports(specs) = &s.l4 else { continue };
                    for spec in specs {
                        let PortSel::Range(r) = spec.port else {
                            continue;
                        };
                        if let [p] = spec.protocols[..]
                            && is_portless(p)
                        {
                            out.insert((p, 0));
                            continue;
                        }
                        if r.is_all() {
                            continue;
                        }
                        let proto = if spec.protocols.len() == 1 {
                            spec.protocols[0]
                        } else {
                            TCP
                        };
                        out.insert((proto, r.lo));
                    }
                }
            }
        }
        let mut v: Vec<(u8, u16)> = out.into_iter().take(MAX_DEFAULT_PORTS).collect();
        if v.is_empty() {
            v.push((TCP, 80));
        }
        v
    }
}

impl Matrix {
    /// The tables as text, with a legend: rows are sources, columns destinations.
    pub fn to_text(&self) -> String {
        let width = self.pods.iter().map(String::len).max().unwrap_or(0).max(4);
        let mut out = String::from(
            "Legend: rows are sources, columns destinations; . allowed, L allowed through an L7 proxy (HTTP or DNS rules judge each request), X denied (no rule allows it, default deny), D denied by a deny rule\n",
        );
        for t in &self.ports {
            let heading = match parse_protocol_name(&t.protocol) {
                Some(p) if is_portless(p) => t.protocol.clone(),
                _ => format!("{}/{}", t.protocol, t.port),
            };
            out.push_str(&format!("\n{heading}\n"));
            let header: String = self.pods.iter().map(|p| format!(" {p:width$}")).collect();
            out.push_str(format!("{:width$}{header}", "").trim_end());
            out.push('\n');
            for (i, row) in t.cells.iter().enumerate() {
                let cells: String = row
                    .iter()
                    .map(|c| format!(" {:width$}", c.symbol()))
                    .collect();
                out.push_str(format!("{:width$}{cells}", self.pods[i]).trim_end());
                out.push('\n');
            }
        }
        out
    }
}
