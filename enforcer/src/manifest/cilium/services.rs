//! `toServices` entries: `k8sService: {serviceName, namespace}` or
//! `k8sServiceSelector: {selector, namespace}`, exactly one per entry. An empty or absent
//! namespace matches in every namespace, as in Cilium.

use crate::manifest::cursor::{Cursor, MapCursor};
use crate::manifest::selector::{KeyStyle, read_selector};
use crate::policy::model::Peer;
use crate::policy::services::ServicePeer;

/// Reads a `toServices` list.
pub fn read_services(c: &Cursor<'_>) -> Option<Vec<Peer>> {
    c.each(|item| read_service_peer(item).map(Peer::Service))
}

fn read_service_peer(item: &Cursor<'_>) -> Option<ServicePeer> {
    let m = item.map()?;
    let peer = match (m.get("k8sService"), m.get("k8sServiceSelector")) {
        (Some(_), Some(_)) => {
            item.error(
                "a toServices entry takes one of k8sService or k8sServiceSelector, not both: \
                 use two entries",
            );
            None
        }
        (None, None) => {
            item.error("a toServices entry needs one of k8sService or k8sServiceSelector");
            None
        }
        (Some(by_name), None) => read_by_name(&by_name),
        (None, Some(by_labels)) => read_by_selector(&by_labels),
    };
    m.finish();
    peer
}

fn read_by_name(c: &Cursor<'_>) -> Option<ServicePeer> {
    let m = c.map()?;
    let name = match m.get("serviceName") {
        Some(n) => n.string().filter(|s| check_name(&n, s)).map(String::from),
        None => {
            c.error("missing field \"serviceName\"");
            None
        }
    };
    let namespace = read_namespace(&m);
    m.finish();
    Some(ServicePeer::Name {
        name: name?,
        namespace: namespace?,
    })
}

fn read_by_selector(c: &Cursor<'_>) -> Option<ServicePeer> {
    let m = c.map()?;
    let selector = match m.get("selector") {
        Some(s) => read_selector(&s, KeyStyle::Cilium),
        None => {
            c.error("missing field \"selector\" (a label selector on the Services' own labels)");
            None
        }
    };
    let namespace = read_namespace(&m);
    m.finish();
    Some(ServicePeer::Selector {
        selector: selector?,
        namespace: namespace?,
    })
}

/// `namespace`: `Some(None)` when absent or empty (every namespace), `None` after an
/// error.
fn read_namespace(m: &MapCursor<'_>) -> Option<Option<String>> {
    let Some(c) = m.get("namespace") else {
        return Some(None);
    };
    match c.string()? {
        "" => Some(None),
        ns if check_name(&c, ns) => Some(Some(ns.to_string())),
        _ => None,
    }
}

/// A Service or namespace name: a DNS label (lowercase letters, digits and '-', at most
/// 63, alphanumeric at both ends).
fn check_name(c: &Cursor<'_>, s: &str) -> bool {
    let ok = crate::labels::is_dns_label(s);
    if !ok {
        c.invalid("a DNS label (lowercase letters, digits and '-', at most 63)");
    }
    ok
}
