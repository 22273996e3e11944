//! `v1 Service` and `v1 ServiceAccount` manifests: validated as the API server would (the
//! labels, the selector's labels, each port's number, name and protocol) and kept. A
//! Service is what `toServices` peers reach; a ServiceAccount has no effect.

use std::collections::BTreeSet;

use super::cursor::{Cursor, MapCursor};
use super::meta::{name_object, read_labels, read_meta};
use crate::cluster::{Service, ServiceAccount, ServicePort, TargetPort};
use crate::policy::ports::{SCTP, TCP, UDP, is_service_name};

/// Reads a `v1 Service`.
pub fn read_service(doc: &MapCursor<'_>) -> Option<Service> {
    doc.ignore(&["status"]);
    let meta = read_meta(doc, true);
    if let Some(meta) = &meta {
        name_object(doc, "Service", &meta.namespace, &meta.name);
    }
    let spec = doc.get("spec").and_then(|c| c.map());
    let selector = spec
        .as_ref()
        .and_then(|s| s.get("selector"))
        .map(|c| read_labels(&c))
        .unwrap_or_default();
    let ports = spec.as_ref().map(read_ports).unwrap_or_default();
    let meta = meta?;
    Some(Service {
        namespace: meta.namespace,
        name: meta.name,
        labels: meta.labels,
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
    if !crate::labels::is_dns_label(s) {
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

#[cfg(test)]
mod tests {
    use crate::cluster::{Service, ServiceAccount, TargetPort};
    use crate::manifest::{Object, parse_one, parse_str};
    use crate::policy::ports::{TCP, UDP};

    fn service(spec: &str) -> Result<Service, String> {
        let text = format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: shop}}\nspec:\n{spec}\n"
        );
        match parse_one("s.yaml", &text)? {
            Object::Service(s) => Ok(s),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_service_is_read_with_its_selector_and_ports() {
        let s = service(
            "  type: NodePort\n  selector: {app: web}\n  ports:\n  - {name: http, port: 80, targetPort: http, nodePort: 30080}\n  - {name: dns, port: 53, protocol: UDP, targetPort: 5353}",
        )
        .unwrap();
        assert_eq!(s.selector["app"], "web");
        assert_eq!(s.ports.len(), 2);
        assert_eq!(s.ports[0].target_port, TargetPort::Name("http".into()));
        assert_eq!((s.ports[0].protocol, s.ports[0].port), (TCP, 80));
        assert_eq!(s.ports[1].target_port, TargetPort::Number(5353));
        assert_eq!(s.ports[1].protocol, UDP);
        let one = service("  ports:\n  - port: 8080").unwrap();
        assert_eq!(one.ports[0].target_port, TargetPort::Number(8080));
    }

    #[test]
    fn bad_service_ports_and_selectors_are_errors_with_their_paths() {
        let err = service("  ports:\n  - {port: 80}\n  - {port: 81}").unwrap_err();
        assert!(
            err.contains("spec.ports[0]: missing field \"name\""),
            "{err}"
        );
        let err =
            service("  ports:\n  - {name: a, port: 80}\n  - {name: a, port: 81}").unwrap_err();
        assert!(
            err.contains("spec.ports[1]: duplicate port name \"a\""),
            "{err}"
        );
        let err = service("  ports:\n  - {port: 0}").unwrap_err();
        assert!(
            err.contains("spec.ports[0].port: invalid value \"0\""),
            "{err}"
        );
        let err = service("  ports:\n  - {port: 80, protocol: ICMP}").unwrap_err();
        assert!(
            err.contains(
                "spec.ports[0].protocol: invalid value \"ICMP\": expected TCP, UDP or SCTP"
            ),
            "{err}"
        );
        let err = service("  ports:\n  - {port: 80, targetPort: Not_A_Name}").unwrap_err();
        assert!(err.contains("spec.ports[0].targetPort"), "{err}");
        let err = service("  ports:\n  - {port: 80, targetport: 80}").unwrap_err();
        assert!(
            err.contains("spec.ports[0].targetport: unknown field"),
            "{err}"
        );
        let err = service("  selector: {\"bad key!\": web}").unwrap_err();
        assert!(err.contains("invalid label key"), "{err}");
    }

    #[test]
    fn a_service_account_is_read_instead_of_skipped() {
        let m = parse_str(
            "sa.yaml",
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web-sa, namespace: shop}\nautomountServiceAccountToken: false\n",
        )
        .unwrap();
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        assert_eq!(
            m.objects[0].object,
            Object::ServiceAccount(ServiceAccount {
                namespace: "shop".into(),
                name: "web-sa".into()
            })
        );
    }
}
