//! Parser tests: valid manifests become the expected model; invalid ones give errors that
//! name the document, object, field path and value.

use super::*;
use crate::labels::Selector;
use crate::mapstate::PortRange;
use crate::policy::entity::Entity;
use crate::policy::model::{L4, L7, Peer, Peers, PortSel, Subject};

fn policy(yaml: &str) -> Policy {
    let m = parse_str("test.yaml", yaml).unwrap_or_else(|e| panic!("{e}"));
    match m.objects.into_iter().next().map(|l| l.object) {
        Some(Object::Policy(p)) => p,
        other => panic!("not a policy: {other:?}"),
    }
}

fn errors(yaml: &str) -> Vec<String> {
    match parse_str("test.yaml", yaml) {
        Ok(m) => panic!("expected errors, parsed {} objects", m.objects.len()),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

fn assert_error(yaml: &str, needle: &str) {
    let errs = errors(yaml);
    assert!(
        errs.iter().any(|e| e.contains(needle)),
        "no error containing {needle:?} in {errs:#?}"
    );
}

const CNP_HEAD: &str = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: p\n  namespace: shop\n";

fn cnp(spec: &str) -> String {
    format!("{CNP_HEAD}spec:\n{spec}")
}

#[test]
fn cnp_subject_and_peers_are_namespaced() {
    let p = policy(&cnp(
        "  endpointSelector:\n    matchLabels: {app: db}\n  ingress:\n  - fromEndpoints:\n    - matchLabels: {app: api}\n",
    ));
    let r = &p.rules[0];
    let Subject::Endpoints(s) = &r.subject else {
        panic!()
    };
    assert_eq!(
        s.to_string(),
        "{app=db, k8s:io.kubernetes.pod.namespace=shop}"
    );
    let Peers::List(peers) = &r.ingress[0].peers else {
        panic!()
    };
    let Peer::Endpoints(sel) = &peers[0] else {
        panic!()
    };
    assert_eq!(
        sel.to_string(),
        "{app=api, k8s:io.kubernetes.pod.namespace=shop}"
    );
    assert_eq!(
        r.ingress[0].rule.to_string(),
        "CiliumNetworkPolicy shop/p spec.ingress[0]"
    );
    assert!(r.default_deny_ingress && !r.default_deny_egress);
}

#[test]
fn to_services_entries_are_read_by_name_or_by_the_services_labels() {
    use crate::policy::services::ServicePeer;
    let p = policy(&cnp(
        "  endpointSelector: {}\n  egress:\n  - toServices:\n    - k8sService: {serviceName: db, namespace: shop}\n    - k8sService: {serviceName: cache, namespace: \"\"}\n    - k8sServiceSelector: {selector: {matchLabels: {env: prod}}}\n    toPorts: [{ports: [{port: \"5432\", protocol: TCP}]}]\n  egressDeny:\n  - toServices: [{k8sService: {serviceName: legacy}}]\n",
    ));
    let Peers::List(peers) = &p.rules[0].egress[0].peers else {
        panic!()
    };
    assert_eq!(
        peers[0],
        Peer::Service(ServicePeer::Name {
            name: "db".into(),
            namespace: Some("shop".into())
        })
    );
    // An empty namespace is every namespace, as in Cilium.
    assert_eq!(
        peers[1],
        Peer::Service(ServicePeer::Name {
            name: "cache".into(),
            namespace: None
        })
    );
    let Peer::Service(ServicePeer::Selector {
        selector,
        namespace,
    }) = &peers[2]
    else {
        panic!("{:?}", peers[2])
    };
    assert_eq!(
        (selector.to_string().as_str(), namespace),
        ("{env=prod}", &None)
    );
    assert!(matches!(p.rules[0].egress[0].l4, L4::Ports(_)));
    assert_eq!(p.rules[0].egress_deny.len(), 1);
    assert!(p.rules[0].default_deny_egress);
}

#[test]
fn empty_cnp_section_allows_nothing_and_ports_only_section_allows_any_peer() {
    let p = policy(&cnp(
        "  endpointSelector: {}\n  ingress:\n  - {}\n  egress:\n  - toPorts:\n    - ports:\n      - port: \"53\"\n        protocol: UDP\n",
    ));
    assert_eq!(p.rules[0].ingress[0].peers, Peers::List(vec![]));
    assert_eq!(p.rules[0].ingress[0].l4, L4::Any);
    assert_eq!(p.rules[0].egress[0].peers, Peers::Any);
}

#[test]
fn ports_ranges_names_and_protocols() {
    let p = policy(&cnp(
        "  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports:\n      - {port: \"8080\", endPort: 8090, protocol: TCP}\n      - {port: Http}\n      - {port: \"0\", protocol: udp}\n",
    ));
    let L4::Ports(ports) = &p.rules[0].ingress[0].l4 else {
        panic!()
    };
    assert_eq!(ports[0].port, PortSel::Range(PortRange::new(8080, 8090)));
    assert_eq!(ports[1].port, PortSel::Named("http".into()));
    assert_eq!(ports[1].protocols, vec![6, 17, 132]);
    assert_eq!(ports[2].port, PortSel::Range(PortRange::ALL));
    assert_eq!(ports[2].protocols, vec![17]);
}

#[test]
fn specs_rules_get_their_own_paths() {
    let yaml = format!(
        "{CNP_HEAD}specs:\n- endpointSelector: {{}}\n  egress:\n  - toEntities: [world]\n- endpointSelector: {{}}\n  egressDeny:\n  - toCIDRSet:\n    - cidr: 10.0.0.0/8\n      except: [10.1.0.0/16]\n"
    );
    let p = policy(&yaml);
    assert_eq!(p.rules.len(), 2);
    assert_eq!(
        p.rules[1].egress_deny[0].rule.path.as_ref(),
        "specs[1].egressDeny[0]"
    );
    assert_eq!(
        p.rules[0].egress[0].peers,
        Peers::List(vec![Peer::Entity(Entity::World)])
    );
    let Peers::List(peers) = &p.rules[1].egress_deny[0].peers else {
        panic!()
    };
    assert!(matches!(&peers[0], Peer::Cidr { except, .. } if except.len() == 1));
}

#[test]
fn l7_rules_parse_and_mark_ports() {
    let p = policy(&cnp(
        "  endpointSelector: {}\n  egress:\n  - toEndpoints: [{}]\n    toPorts:\n    - ports: [{port: \"53\", protocol: ANY}]\n      rules:\n        dns:\n        - matchPattern: \"*.example.com\"\n  - toFQDNs:\n    - matchName: api.example.com\n",
    ));
    let L4::Ports(ports) = &p.rules[0].egress[0].l4 else {
        panic!()
    };
    assert_eq!(ports[0].l7, Some(L7::Dns(vec!["*.example.com".into()])));
    assert_eq!(
        p.rules[0].egress[1].peers,
        Peers::List(vec![Peer::Fqdn("matchName: api.example.com".into())])
    );
}

#[test]
fn knp_translation_follows_cilium() {
    let p = policy(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - {}\n  - from:\n    - namespaceSelector: {matchLabels: {team: a}}\n      podSelector: {matchLabels: {app: api}}\n    - ipBlock: {cidr: 192.0.2.0/24, except: [192.0.2.8/29]}\n    ports:\n    - port: 5432\n",
    );
    let r = &p.rules[0];
    assert!(
        r.egress.is_empty(),
        "egress not isolated without policyTypes Egress"
    );
    assert_eq!(r.ingress[0].peers, Peers::Any);
    assert_eq!(r.ingress[0].l4, L4::Any);
    let Peers::List(peers) = &r.ingress[1].peers else {
        panic!()
    };
    let Peer::Endpoints(sel) = &peers[0] else {
        panic!()
    };
    assert_eq!(
        sel.to_string(),
        "{k8s:app=api, k8s:io.cilium.k8s.namespace.labels.team=a}"
    );
    let L4::Ports(ports) = &r.ingress[1].l4 else {
        panic!()
    };
    assert_eq!(
        (ports[0].port.clone(), ports[0].protocols.clone()),
        (PortSel::Range(PortRange::single(5432)), vec![6])
    );
}

#[test]
fn knp_policy_types_without_rules_isolate() {
    let p = policy(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n",
    );
    let r = &p.rules[0];
    assert_eq!(r.ingress[0].peers, Peers::List(vec![]));
    assert_eq!(r.egress[0].peers, Peers::List(vec![]));
    assert!(matches!(&r.subject, Subject::Endpoints(s) if s != &Selector::all()));
}

#[test]
fn namespaces_get_their_metadata_name_label_and_pods_their_ports() {
    let m = parse_str(
        "t",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: a}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\nspec:\n  nodeName: n1\n  containers:\n  - name: c\n    ports:\n    - {name: http, containerPort: 8080}\nstatus:\n  podIP: 10.0.0.5\n",
    )
    .unwrap();
    let Object::Namespace(ns) = &m.objects[0].object else {
        panic!()
    };
    assert_eq!(
        ns.labels
            .get("kubernetes.io/metadata.name")
            .map(String::as_str),
        Some("shop")
    );
    let Object::Pod(pod) = &m.objects[1].object else {
        panic!()
    };
    assert_eq!(pod.ports[0].port, 8080);
    assert_eq!(
        pod.ips,
        vec!["10.0.0.5".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(pod.service_account, "default");
}

#[test]
fn unknown_kinds_are_skipped_with_a_warning() {
    let m = parse_str(
        "t",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\n",
    )
    .unwrap();
    assert!(m.objects.is_empty());
    assert!(m.warnings[0].message.contains("skipped"));
}

#[test]
fn errors_name_document_object_path_and_value() {
    let yaml = format!(
        "---\n{}",
        cnp(
            "  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports:\n      - port: \"99999\"\n"
        )
    );
    let errs = errors(&yaml);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("test.yaml:")
            && errs[0].contains("document 1 (CiliumNetworkPolicy shop/p)")
            && errs[0].contains("spec.ingress[0].toPorts[0].ports[0].port")
            && errs[0].contains("\"99999\""),
        "{}",
        errs[0]
    );
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let errs = errors(&cnp(
        "  endpointSelector:\n    matchExpressions:\n    - {key: app, operator: Within, values: [a]}\n  ingress:\n  - fromEntities: [galaxy]\n  - fromCIDR: [10.0.0.0/33]\n",
    ));
    assert!(errs.len() >= 3, "{errs:#?}");
}

#[test]
fn invalid_inputs_are_rejected_with_clear_messages() {
    let cases: &[(&str, &str)] = &[
        (
            "  endpointSelector: {}\n  ingres:\n  - {}\n",
            "unknown field \"ingres\"",
        ),
        (
            "  endpointSelector: {}\n  ingress: []\n",
            "at least one of ingress",
        ),
        (
            "  ingress:\n  - {}\n",
            "one of endpointSelector or nodeSelector",
        ),
        (
            "  nodeSelector: {}\n  ingress:\n  - {}\n",
            "only allowed in a CiliumClusterwideNetworkPolicy",
        ),
        (
            "  endpointSelector: {}\n  ingress:\n  - fromEndpoints: [{}]\n    fromCIDR: [10.0.0.0/8]\n",
            "combining fromEndpoints and fromCIDR",
        ),
        (
            "  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: \"80\"}]}]\n    icmps: [{fields: [{type: 8}]}]\n",
            "icmps block may only be present without toPorts",
        ),
        (
            "  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: \"80\", protocol: GRE}]}]\n",
            "TCP, UDP, SCTP, VRRP, IGMP or ANY",
        ),
        (
            "  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: \"http\", endPort: 90}]}]\n",
            "endPort cannot be used with a named port",
        ),
        (
            "  endpointSelector: {}\n  egress:\n  - toCIDRSet: [{cidr: 10.0.0.0/8, except: [192.168.0.0/16]}]\n",
            "not inside cidr",
        ),
        (
            "  endpointSelector: {}\n  egress:\n  - toCIDR: [300.1.1.1]\n",
            "invalid CIDR",
        ),
        (
            "  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: \"53\"}], rules: {dns: [{matchName: a.b}]}}]\n",
            "DNS rules are only allowed on egress",
        ),
        (
            "  endpointSelector: {}\n  egress:\n  - toPorts: [{ports: [{port: \"5353\", protocol: UDP}], rules: {dns: [{matchName: a.b}]}}]\n",
            "DNS rules apply to port 53 only, found port 5353",
        ),
        (
            "  endpointSelector: {}\n  egress:\n  - toPorts: [{ports: [{port: dns, protocol: UDP}], rules: {dns: [{matchName: a.b}]}}]\n",
            "found named port \"dns\"",
        ),
        (
            "  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: \"80\", protocol: ANY}], rules: {http: [{path: /}]}}]\n",
            "L7 rules can only apply to TCP",
        ),
        (
            "  endpointSelector: {}\n  ingressDeny:\n  - toPorts: [{ports: [{port: \"80\"}], rules: {http: [{}]}}]\n",
            "deny rules cannot have L7 rules",
        ),
        (
            "  endpointSelector: {}\n  egress:\n  - toServices: [{k8sService: {serviceName: a}, k8sServiceSelector: {selector: {}}}]\n",
            "spec.egress[0].toServices[0]: a toServices entry takes one of k8sService or k8sServiceSelector, not both",
        ),
        (
            "  endpointSelector: {}\n  egress:\n  - toServices: [{}]\n",
            "spec.egress[0].toServices[0]: a toServices entry needs one of k8sService or k8sServiceSelector",
        ),
        (
            "  endpointSelector: {}\n  egress:\n  - toServices: [{k8sService: {namespace: b}}]\n",
            "spec.egress[0].toServices[0].k8sService: missing field \"serviceName\"",
        ),
        (
            "  endpointSelector: {}\n  egress:\n  - toServices: [{k8sService: {serviceName: Bad_Name}}]\n",
            "spec.egress[0].toServices[0].k8sService.serviceName: invalid value \"Bad_Name\"",
        ),
        (
            "  endpointSelector: {}\n  egress:\n  - toServices: [{k8sService: {serviceName: a, port: 80}}]\n",
            "spec.egress[0].toServices[0].k8sService.port: unknown field",
        ),
        (
            "  endpointSelector: {}\n  egress:\n  - toServices: [{k8sServiceSelector: {namespace: b}}]\n",
            "spec.egress[0].toServices[0].k8sServiceSelector: missing field \"selector\"",
        ),
        (
            "  endpointSelector: {}\n  egress:\n  - toServices: [{k8sServiceSelector: {selector: {matchLabels: {\"bad key\": x}}}}]\n",
            "invalid label key",
        ),
        (
            "  endpointSelector: {}\n  egress:\n  - toServices: [{k8sService: {serviceName: a}}]\n    toEndpoints: [{}]\n",
            "combining toEndpoints and toServices is not supported",
        ),
        (
            "  endpointSelector: {}\n  ingress:\n  - toServices: [{k8sService: {serviceName: a}}]\n",
            "spec.ingress[0].toServices: unknown field",
        ),
        (
            "  endpointSelector: {}\n  ingress:\n  - fromServices: [{k8sService: {serviceName: a}}]\n",
            "spec.ingress[0].fromServices: unknown field",
        ),
        (
            "  endpointSelector: {}\n  ingress:\n  - icmps: [{fields: [{type: 8, family: IPv5}]}]\n",
            "IPv4 or IPv6",
        ),
        (
            "  endpointSelector:\n    matchLabels: {\"bad key\": x}\n  ingress:\n  - {}\n",
            "invalid label key",
        ),
        (
            "  endpointSelector:\n    matchExpressions: [{key: a, operator: Exists, values: [x]}]\n  ingress:\n  - {}\n",
            "take no \"values\"",
        ),
        (
            "  endpointSelector: {}\n  enableDefaultDeny: {ingress: maybe}\n  ingress:\n  - {}\n",
            "true or false",
        ),
    ];
    for (spec, needle) in cases {
        assert_error(&cnp(spec), needle);
    }
}

#[test]
fn bad_yaml_and_wrong_api_versions_are_errors() {
    assert_error("a: [1, 2\n", "invalid YAML");
    assert_error(
        "apiVersion: cilium.io/v1\nkind: CiliumNetworkPolicy\nmetadata: {name: x}\nspec: {}\n",
        "\"cilium.io/v2\"",
    );
    assert_error("kind: Pod\n", "apiVersion");
    assert_error(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: UPPER}\n",
        "lowercase DNS name",
    );
    assert_error(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n}\nspec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: 70000}]\n",
        "port number 1-65535",
    );
}

#[test]
fn parsed_objects_round_trip_through_json() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    let inputs = read_inputs(&[dir.to_string()]).unwrap();
    let objects: Vec<Object> = parse(&inputs)
        .unwrap()
        .objects
        .into_iter()
        .map(|l| l.object)
        .collect();
    assert!(objects.len() > 5);
    let json = serde_json::to_string(&objects).unwrap();
    let back: Vec<Object> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, objects);
}

#[test]
fn the_mode_annotation_puts_a_policy_in_audit_mode() {
    let annotated = |mode: &str| {
        format!(
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: p\n  namespace: shop\n  annotations: {{observe.io/mode: {mode}}}\nspec:\n  endpointSelector: {{}}\n  ingress:\n  - {{}}\n"
        )
    };
    assert!(policy(&annotated("audit")).audit);
    assert!(!policy(&annotated("enforce")).audit);
    assert!(!policy(&cnp("  endpointSelector: {}\n  ingress:\n  - {}\n")).audit);
    let knp = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n, namespace: shop, annotations: {observe.io/mode: audit}}\nspec:\n  podSelector: {}\n";
    assert!(policy(knp).audit);
    let errs = errors(&annotated("dry-run"));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("metadata.annotations.observe.io/mode")
            && errs[0].contains("\"dry-run\"")
            && errs[0].contains("\"audit\" or \"enforce\""),
        "{errs:?}"
    );
}
