//! Namespace, Pod and Node manifests, and the pod spec a workload's template shares with
//! a Pod. Only the fields the engine uses are read; the rest of these (large) objects is
//! ignored.

use std::net::IpAddr;

use super::cursor::{Cursor, MapCursor};
use super::meta::{read_audit_mode, read_meta};
use crate::cluster::{ContainerPort, Namespace, Node, Pod, PodKey};
use crate::labels::keys;
use crate::policy::ports::{TCP, is_service_name, parse_port_protocol};

/// Reads a `v1 Namespace`; adds `kubernetes.io/metadata.name` as Kubernetes does, and
/// reads its audit mode (`observe.io/mode`).
pub fn read_namespace(doc: &MapCursor<'_>) -> Option<Namespace> {
    let audit = read_audit_mode(doc);
    let meta = read_meta(doc, false)?;
    let mut labels = meta.labels;
    labels.insert(keys::METADATA_NAME.to_string(), meta.name.clone());
    Some(Namespace {
        name: meta.name,
        labels,
        audit: audit?,
    })
}

/// Reads a `v1 Pod`.
pub fn read_pod(doc: &MapCursor<'_>) -> Option<Pod> {
    // Every part is read, so a bad `metadata` does not hide the errors after it.
    let meta = read_meta(doc, true);
    let spec = read_pod_spec(doc);
    let status = doc.get("status").and_then(|c| c.map());
    let ips = status.as_ref().map(read_pod_ips).unwrap_or_default();
    let netns = read_netns_annotation(doc);
    let meta = meta?;
    Some(Pod {
        key: PodKey::new(&meta.namespace, &meta.name),
        labels: meta.labels,
        node: spec.node,
        service_account: spec.service_account,
        ports: spec.ports,
        ips,
        netns,
        owner: None,
    })
}

/// What a pod's `spec` (or a pod template's) gives the engine.
pub struct PodSpec {
    /// `spec.nodeName`.
    pub node: Option<String>,
    /// `spec.serviceAccountName` (or the deprecated `serviceAccount`), `default` if unset.
    pub service_account: String,
    /// Container ports.
    pub ports: Vec<ContainerPort>,
}

/// Reads the `spec` of a Pod or of a pod template (`doc` holds `spec`).
pub fn read_pod_spec(doc: &MapCursor<'_>) -> PodSpec {
    let spec = doc.get("spec").and_then(|c| c.map());
    let node = spec
        .as_ref()
        .and_then(|s| s.get("nodeName"))
        .and_then(|c| c.string().map(String::from));
    let service_account = spec
        .as_ref()
        .and_then(|s| {
            s.get("serviceAccountName")
                .or_else(|| s.get("serviceAccount"))
        })
        .and_then(|c| c.string().map(String::from))
        .unwrap_or_else(|| "default".to_string());
    let ports = spec.as_ref().map(read_container_ports).unwrap_or_default();
    PodSpec {
        node,
        service_account,
        ports,
    }
}

/// The annotation naming an existing network namespace to adopt.
pub const NETNS_ANNOTATION: &str = "observe.io/netns";

fn read_netns_annotation(doc: &MapCursor<'_>) -> Option<String> {
    let meta = doc.get("metadata")?.map()?;
    let annotations = meta.get("annotations")?.map()?;
    let c = annotations.get(NETNS_ANNOTATION)?;
    let name = c.string()?;
    let valid = !name.is_empty() && !name.contains('/') && name != "." && name != "..";
    if !valid {
        c.invalid("the name of a network namespace under /var/run/netns");
        return None;
    }
    Some(name.to_string())
}

fn read_container_ports(spec: &MapCursor<'_>) -> Vec<ContainerPort> {
    let mut out = Vec::new();
    for container in spec
        .get("containers")
        .and_then(|c| c.seq())
        .unwrap_or_default()
    {
        let Some(cm) = container.map() else { continue };
        for p in cm.get("ports").and_then(|c| c.seq()).unwrap_or_default() {
            if let Some(port) = read_container_port(&p) {
                out.push(port);
            }
        }
    }
    out
}

fn read_container_port(c: &Cursor<'_>) -> Option<ContainerPort> {
    let m = c.map()?;
    let Some(num) = m.get("containerPort") else {
        c.error("missing field \"containerPort\"");
        return None;
    };
    let port = match num.int(false) {
        Some(n @ 1..=65535) => u16::try_from(n).ok()?,
        Some(_) => {
            num.invalid("a port number 1-65535");
            return None;
        }
        None => return None,
    };
    let protocol = match m.get("protocol") {
        None => TCP,
        Some(p) => match p.string().and_then(parse_port_protocol) {
            Some(v) if v.len() == 1 => v[0],
            _ => {
                p.invalid("TCP, UDP or SCTP");
                return None;
            }
        },
    };
    let name = match m.get("name") {
        None => None,
        Some(n) => {
            let s = n.string()?.to_ascii_lowercase();
            if !is_service_name(&s) {
                n.invalid("an IANA service name (1-15 lowercase letters, digits and '-')");
                return None;
            }
            Some(s)
        }
    };
    Some(ContainerPort {
        name,
        port,
        protocol,
    })
}

fn read_pod_ips(status: &MapCursor<'_>) -> Vec<IpAddr> {
    let mut ips = Vec::new();
    if let Some(c) = status.get("podIP") {
        ips.extend(read_ip(&c));
    }
    for item in status
        .get("podIPs")
        .and_then(|c| c.seq())
        .unwrap_or_default()
    {
        if let Some(ip) = item
            .map()
            .and_then(|m| m.get("ip"))
            .and_then(|c| read_ip(&c))
            && !ips.contains(&ip)
        {
            ips.push(ip);
        }
    }
    ips
}

fn read_ip(c: &Cursor<'_>) -> Option<IpAddr> {
    let s = c.string()?;
    let ip = s.parse().ok();
    if ip.is_none() {
        c.invalid("an IPv4 or IPv6 address");
    }
    ip
}

/// Reads a `v1 Node`.
pub fn read_node(doc: &MapCursor<'_>) -> Option<Node> {
    let meta = read_meta(doc, false);
    let mut ips = Vec::new();
    let status = doc.get("status").and_then(|c| c.map());
    for a in status
        .and_then(|s| s.get("addresses"))
        .and_then(|c| c.seq())
        .unwrap_or_default()
    {
        let Some(m) = a.map() else { continue };
        let is_internal = m.get("type").and_then(|c| c.string()) == Some("InternalIP");
        if let (true, Some(addr)) = (is_internal, m.get("address")) {
            ips.extend(read_ip(&addr));
        }
    }
    let meta = meta?;
    Some(Node {
        name: meta.name,
        labels: meta.labels,
        ips,
    })
}
