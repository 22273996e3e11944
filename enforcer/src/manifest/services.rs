//! `v1 Service` and `v1 ServiceAccount` manifests: validated as the API server would (the
//! selector's labels, each port's number, name and protocol) and kept, with no effect on
//! enforcement.

use std::collections::BTreeSet;

use super::cursor::{Cursor, MapCursor};
use super::meta::{read_labels, read_meta};
use crate::cluster::{Service, ServiceAccount, ServicePort, TargetPort};
use crate::policy::ports::{SCTP, TCP, UDP, is_service_name};

/// Reads a `v1 Service`.
pub fn read_service(doc: &MapCursor<'_>) -> Option<Service> {
    doc.ignore(&["status"]);
    let meta = read_meta(doc, true)?;
    let spec = doc.get("spec").and_then(|c| c.map());
    let selector = spec
        .as_ref()
        .and_then(|s| s.get("selector"))
        .map(|c| read_labels(&c))
        .unwrap_or_default();
    let ports = spec.as_ref().map(read_ports).unwrap_or_default();
    Some(Service {
        namespace: meta.namespace,
        name: meta.name,
        selector,
        ports,
    })
}

/// Reads a `v1 ServiceAccount`.
pub fn read_service_account(doc: &MapCursor<'_>) -> Option<ServiceAccount> {
    doc.ignore(&[
        "secrets",
        "imagePullSecrets",
        "automountServiceAccountToken",
    ]);
    let meta = read_meta(doc, true)?;
    Some(ServiceAccount {
        namespace: meta.namespace,
        name: meta.name,
    })
}

/// `spec.ports`: every port valid, named when there are several, names unique.
fn read_ports(spec: &MapCursor<'_>) -> Vec<ServicePort> {
    let items = spec.get("ports").and_then(|c| c.seq()).unwrap_or_default();
    let several = items.len() > 1;
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for item in &items {
        let Some(port) = read_port(item) else {
            continue;
        };
        match &port.name {
            None if several => {
                item.error("missing field \"name\": every port of a Service with several ports needs a name");
            }
            Some(n) if !names.insert(n.clone()) => {
                item.error(format!("duplicate port name {n:?}"));
            }
            _ => out.push(port),
        }
    }
    out
}

fn read_port(c: &Cursor<'_>) -> Option<ServicePort> {
    let m = c.map()?;
    m.ignore(&["nodePort", "appProtocol"]);
    // Some(None): no name; None: an invalid one (reported).
    let name = match m.get("name") {
        None => Some(None),
        Some(n) => read_port_name(&n).map(Some),
    };
    let protocol = match m.get("protocol") {
        None => Some(TCP),
        Some(p) => read_protocol(&p),
    };
    let Some(num) = m.get("port") else {
        c.error("missing field \"port\"");
        return None;
    };
    let port = read_number(&num);
    let target_port = match m.get("targetPort") {
        None => port.map(TargetPort::Number),
        Some(t) if t.is_number() => read_number(&t).map(TargetPort::Number),
        Some(t) => read_target_name(&t),
    };
    m.finish();
    Some(ServicePort {
        name: name?,
        protocol: protocol?,
        port: port?,
        target_port: target_port?,
    })
}

/// A Service port name: a DNS label (lowercase letters, digits, '-', at most 63).
fn read_port_name(c: &Cursor<'_>) -> Option<String> {
    let s = c.string()?;
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|&x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == b'-');
    if !ok {
        c.invalid("a DNS label (lowercase letters, digits and '-', at most 63)");
        return None;
    }
    Some(s.to_string())
}

fn read_protocol(c: &Cursor<'_>) -> Option<u8> {
    let proto = match c.string()? {
        "TCP" => TCP,
        "UDP" => UDP,
        "SCTP" => SCTP,
        _ => {
            c.invalid("TCP, UDP or SCTP");
            return None;
        }
    };
    Some(proto)
}

fn read_number(c: &Cursor<'_>) -> Option<u16> {
    match c.int(false)? {
        n @ 1..=65535 => u16::try_from(n).ok(),
        _ => {
            c.invalid("a port number 1-65535");
            None
        }
    }
}

fn read_target_name(c: &Cursor<'_>) -> Option<TargetPort> {
    let s = c.string()?;
    if !is_service_name(s) {
        c.invalid("a port number or an IANA service name (1-15 lowercase letters, digits and '-')");
        return None;
    }
    Some(TargetPort::Name(s.to_string()))
}
