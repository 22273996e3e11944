//! `v1 Endpoints` and `discovery.k8s.io/v1 EndpointSlice` manifests: the addresses behind
//! a Service without a selector, validated as the API server would (every address an IP
//! of the slice's address type) and kept for `toServices`.

use std::net::IpAddr;

use super::cursor::{Cursor, MapCursor};
use super::meta::{name_object, read_meta};
use crate::cluster::{EndpointSlice, Endpoints, SERVICE_NAME_LABEL};

/// Reads a `v1 Endpoints`.
pub fn read_endpoints(doc: &MapCursor<'_>) -> Option<Endpoints> {
    let meta = read_meta(doc, true);
    if let Some(meta) = &meta {
        name_object(doc, "Endpoints", &meta.namespace, &meta.name);
    }
    let mut addresses = Vec::new();
    let mut ok = true;
    if let Some(subsets) = doc.get("subsets") {
        for subset in subsets.seq().unwrap_or_default() {
            let Some(m) = subset.map() else { continue };
            ok &= read_endpoint_addresses(&m, "addresses", &mut addresses);
            // Not ready: validated, but no backend.
            ok &= read_endpoint_addresses(&m, "notReadyAddresses", &mut Vec::new());
            m.ignore(&["ports"]);
            m.finish();
        }
    }
    let meta = meta?;
    ok.then_some(Endpoints {
        namespace: meta.namespace,
        name: meta.name,
        addresses,
    })
}

/// `subsets[].<field>[].ip` into `out`, each address once; false after an error.
fn read_endpoint_addresses(m: &MapCursor<'_>, field: &str, out: &mut Vec<IpAddr>) -> bool {
    let Some(list) = m.get(field) else {
        return true;
    };
    let mut ok = true;
    for item in list.seq().unwrap_or_default() {
        let Some(a) = item.map() else {
            ok = false;
            continue;
        };
        match a.get("ip") {
            Some(ip) => match read_ip(&ip, None) {
                Some(ip) if !out.contains(&ip) => out.push(ip),
                Some(_) => {}
                None => ok = false,
            },
            None => {
                item.error("missing field \"ip\"");
                ok = false;
            }
        }
        a.ignore(&["hostname", "nodeName", "targetRef"]);
        a.finish();
    }
    ok
}

/// Reads a `discovery.k8s.io/v1 EndpointSlice`.
pub fn read_endpoint_slice(doc: &MapCursor<'_>) -> Option<EndpointSlice> {
    let meta = read_meta(doc, true);
    if let Some(meta) = &meta {
        name_object(doc, "EndpointSlice", &meta.namespace, &meta.name);
    }
    let family = match doc.get("addressType") {
        None => {
            doc.cursor().error("missing field \"addressType\"");
            None
        }
        Some(t) => match t.string() {
            Some("IPv4") => Some(Some(false)),
            Some("IPv6") => Some(Some(true)),
            // Names, not addresses: nothing a policy can match on.
            Some("FQDN") => Some(None),
            Some(_) => {
                t.invalid("IPv4, IPv6 or FQDN");
                None
            }
            None => None,
        },
    };
    let mut addresses = Vec::new();
    let mut ok = true;
    for item in doc
        .get("endpoints")
        .and_then(|c| c.seq())
        .unwrap_or_default()
    {
        ok &= read_slice_endpoint(&item, family.flatten(), family.is_some(), &mut addresses);
    }
    doc.ignore(&["ports"]);
    let (meta, family) = (meta?, family?);
    if family.is_none() {
        addresses.clear();
    }
    ok.then(|| EndpointSlice {
        service: meta.labels.get(SERVICE_NAME_LABEL).cloned(),
        namespace: meta.namespace,
        name: meta.name,
        addresses,
    })
}

/// One `endpoints[]` entry: its addresses into `out` unless `conditions.ready` is false;
/// false after an error. `v6` is the slice's address family (`None` for FQDN), checked
/// only when `typed`.
fn read_slice_endpoint(
    item: &Cursor<'_>,
    v6: Option<bool>,
    typed: bool,
    out: &mut Vec<IpAddr>,
) -> bool {
    let Some(m) = item.map() else { return false };
    let ready = match m.get("conditions").and_then(|c| c.map()) {
        Some(c) => {
            let ready = c.get("ready").and_then(|r| r.bool());
            c.ignore(&["serving", "terminating"]);
            c.finish();
            ready != Some(false)
        }
        None => true,
    };
    let mut ok = true;
    match m.get("addresses") {
        None => {
            item.error("missing field \"addresses\"");
            ok = false;
        }
        Some(list) => {
            for a in list.seq().unwrap_or_default() {
                if !typed || v6.is_none() {
                    // An FQDN slice lists names; an invalid addressType was reported.
                    continue;
                }
                match read_ip(&a, v6) {
                    Some(ip) if ready && !out.contains(&ip) => out.push(ip),
                    Some(_) => {}
                    None => ok = false,
                }
            }
        }
    }
    m.ignore(&[
        "hostname",
        "nodeName",
        "targetRef",
        "zone",
        "hints",
        "deprecatedTopology",
    ]);
    m.finish();
    ok
}

/// An IP address, of family `v6` when given.
fn read_ip(c: &Cursor<'_>, v6: Option<bool>) -> Option<IpAddr> {
    let s = c.string()?;
    match (s.parse::<IpAddr>(), v6) {
        (Ok(ip), None) => Some(ip),
        (Ok(ip), Some(v6)) if ip.is_ipv6() == v6 => Some(ip),
        (_, Some(true)) => {
            c.invalid("an IPv6 address (addressType IPv6)");
            None
        }
        (_, Some(false)) => {
            c.invalid("an IPv4 address (addressType IPv4)");
            None
        }
        (Err(_), None) => {
            c.invalid("an IPv4 or IPv6 address");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::cluster::{EndpointSlice, Endpoints};
    use crate::manifest::{Object, parse_one, parse_str};

    fn endpoints(body: &str) -> Result<Endpoints, String> {
        let text = format!(
            "apiVersion: v1\nkind: Endpoints\nmetadata: {{name: ext, namespace: shop}}\n{body}\n"
        );
        match parse_one("e.yaml", &text)? {
            Object::Endpoints(e) => Ok(e),
            other => panic!("{other:?}"),
        }
    }

    fn slice(body: &str) -> Result<EndpointSlice, String> {
        let text = format!(
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: ext-1, namespace: shop, labels: {{kubernetes.io/service-name: ext}}}}\n{body}\n"
        );
        match parse_one("s.yaml", &text)? {
            Object::EndpointSlice(s) => Ok(s),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn endpoints_keep_the_ready_addresses_of_every_subset() {
        let e = endpoints(
            "subsets:\n- addresses: [{ip: 203.0.113.7, hostname: a}, {ip: \"2001:db8::7\"}]\n  notReadyAddresses: [{ip: 203.0.113.9}]\n  ports: [{port: 5432}]\n- addresses: [{ip: 203.0.113.7}, {ip: 198.51.100.3}]",
        )
        .unwrap();
        let shown: Vec<String> = e.addresses.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["203.0.113.7", "2001:db8::7", "198.51.100.3"]);
        assert!(endpoints("").unwrap().addresses.is_empty());
    }

    #[test]
    fn bad_endpoints_are_errors_with_their_paths() {
        let err = endpoints("subsets:\n- addresses: [{ip: 203.0.113.300}]").unwrap_err();
        assert!(
            err.contains("subsets[0].addresses[0].ip: invalid value \"203.0.113.300\""),
            "{err}"
        );
        assert!(err.contains("Endpoints shop/ext"), "{err}");
        let err = endpoints("subsets:\n- addresses: [{host: a}]").unwrap_err();
        assert!(
            err.contains("subsets[0].addresses[0]: missing field \"ip\""),
            "{err}"
        );
        let err = endpoints("subsets:\n- adresses: []").unwrap_err();
        assert!(err.contains("subsets[0].adresses: unknown field"), "{err}");
    }

    #[test]
    fn a_slice_names_its_service_and_keeps_ready_addresses() {
        let s = slice(
            "addressType: IPv4\nendpoints:\n- addresses: [203.0.113.7]\n  conditions: {ready: true}\n- addresses: [203.0.113.8]\n  conditions: {ready: false, serving: true}\n- addresses: [203.0.113.9]\nports: [{port: 5432, protocol: TCP}]",
        )
        .unwrap();
        assert_eq!(s.service.as_deref(), Some("ext"));
        let shown: Vec<String> = s.addresses.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["203.0.113.7", "203.0.113.9"]);
        let fqdn = slice("addressType: FQDN\nendpoints:\n- addresses: [db.example.com]").unwrap();
        assert!(fqdn.addresses.is_empty());
    }

    #[test]
    fn bad_slices_are_errors_with_their_paths() {
        let err =
            slice("addressType: IPv4\nendpoints:\n- addresses: [\"2001:db8::1\"]").unwrap_err();
        assert!(
            err.contains(
                "endpoints[0].addresses[0]: invalid value \"2001:db8::1\": expected an IPv4 address"
            ),
            "{err}"
        );
        let err = slice("addressType: IPv7\nendpoints: []").unwrap_err();
        assert!(err.contains("addressType: invalid value \"IPv7\""), "{err}");
        let err = slice("endpoints: []").unwrap_err();
        assert!(err.contains("missing field \"addressType\""), "{err}");
        let err =
            slice("addressType: IPv4\nendpoints:\n- {conditions: {ready: true}}").unwrap_err();
        assert!(
            err.contains("endpoints[0]: missing field \"addresses\""),
            "{err}"
        );
        let m = parse_str(
            "v.yaml",
            "apiVersion: v1\nkind: EndpointSlice\nmetadata: {name: a}\naddressType: IPv4\n",
        );
        assert!(m.is_err(), "wrong apiVersion");
    }
}
