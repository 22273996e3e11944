//! What `observe policy validate` promises about diagnostics: every error at once, in
//! document order; warnings (not errors) for deprecated fields and unknown metadata; one
//! clear error per problem; the last of duplicate objects wins.

use enforcer::manifest::{self, Diagnostic, Input, Manifests, Object, Severity};

fn errors(yaml: &str) -> Vec<Diagnostic> {
    match manifest::parse_str("test.yaml", yaml) {
        Ok(m) => panic!("expected errors, parsed {} objects", m.objects.len()),
        Err(e) => e.0,
    }
}

fn paths(diags: &[Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .map(|d| format!("{}: {}", d.document, d.path))
        .collect()
}

fn parsed(yaml: &str) -> Manifests {
    manifest::parse_str("test.yaml", yaml).unwrap_or_else(|e| panic!("{e}"))
}

fn messages(diags: &[Diagnostic]) -> Vec<String> {
    diags.iter().map(ToString::to_string).collect()
}

const CNP_HEAD: &str =
    "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: shop}\n";

fn cnp(spec: &str) -> String {
    format!("{CNP_HEAD}spec:\n{spec}")
}

/// A CNP, a CCNP and a KNP with errors everywhere, including several in one list, a bad
/// `metadata.name`, and errors on a node found after errors inside it.
const MANY_ERRORS: &str = r#"apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  endpointSelector:
    matchLabels: {"bad one!": x}
  ingress:
  - fromEndpoints:
    - matchLabels: {"bad two!": x}
    - matchLabels: {"bad three!": x}
    toPorts:
    - ports:
      - {port: "99999", protocol: TCP}
      - {port: "80", protocol: GRE}
      rules:
        kafka: [{topic: t}]
  egress:
  - toCIDR: [10.0.0.0/33, 300.0.0.1]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: Cluster
description: misplaced
spec:
  nodeSelector:
    matchExpressions:
    - {key: "a b", operator: In, values: []}
  ingress:
  - fromEntities: [galaxy, world, nebula]
    icmps:
    - fields:
      - {family: IPv5, type: 8}
      - {type: Bogus}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector:
    matchLabels: {"bad key": x}
  policyTypes: [Ingress, Sideways]
  ingress:
  - from:
    - podSelector:
        matchExpressions:
        - {key: "a b", operator: In, values: []}
    - ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}
    ports:
    - {port: 70000}
    - {protocol: ICMP, port: 80}
"#;

#[test]
fn every_error_of_a_cnp_a_ccnp_and_a_knp_in_one_file_is_reported_in_document_order() {
    let errs = errors(MANY_ERRORS);
    assert_eq!(
        paths(&errs),
        [
            "1: spec.endpointSelector.matchLabels.bad one!",
            "1: spec.ingress[0].fromEndpoints[0].matchLabels.bad two!",
            "1: spec.ingress[0].fromEndpoints[1].matchLabels.bad three!",
            "1: spec.ingress[0].toPorts[0].ports[0].port",
            "1: spec.ingress[0].toPorts[0].ports[1].protocol",
            "1: spec.ingress[0].toPorts[0].rules.kafka",
            "1: spec.egress[0].toCIDR[0]",
            "1: spec.egress[0].toCIDR[1]",
            "2: metadata.name",
            "2: spec.nodeSelector.matchExpressions[0]",
            "2: spec.nodeSelector.matchExpressions[0].key",
            "2: spec.ingress[0].fromEntities[0]",
            "2: spec.ingress[0].fromEntities[2]",
            "2: spec.ingress[0].icmps[0].fields[0].family",
            "2: spec.ingress[0].icmps[0].fields[1].type",
            "3: spec.podSelector.matchLabels.bad key",
            "3: spec.policyTypes[1]",
            "3: spec.ingress[0].from[0].podSelector.matchExpressions[0]",
            "3: spec.ingress[0].from[0].podSelector.matchExpressions[0].key",
            "3: spec.ingress[0].from[1].ipBlock.except[0]",
            "3: spec.ingress[0].ports[0].port",
            "3: spec.ingress[0].ports[1].protocol",
        ],
        "{:#?}",
        messages(&errs)
    );
    let positions: Vec<(usize, u32, u32)> =
        errs.iter().map(|d| (d.document, d.line, d.col)).collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted);
}

#[test]
fn both_bad_selectors_of_one_from_endpoints_list_are_reported() {
    let errs = errors(&cnp(
        "  endpointSelector: {}\n  ingress:\n  - fromEndpoints: [{matchLabels: {\"bad one!\": x}}, {matchLabels: {\"bad two!\": x}}]\n",
    ));
    assert_eq!(
        paths(&errs),
        [
            "1: spec.ingress[0].fromEndpoints[0].matchLabels.bad one!",
            "1: spec.ingress[0].fromEndpoints[1].matchLabels.bad two!",
        ]
    );
}

#[test]
fn a_bad_pod_selector_does_not_hide_the_errors_of_the_rules() {
    let errs = errors(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n, namespace: shop}\nspec:\n  podSelector:\n    matchLabels: {\"bad key!\": x}\n  ingress:\n  - from:\n    - podSelector:\n        matchExpressions:\n        - {key: \"a b\", operator: In, values: []}\n",
    );
    assert_eq!(
        paths(&errs),
        [
            "1: spec.podSelector.matchLabels.bad key!",
            "1: spec.ingress[0].from[0].podSelector.matchExpressions[0]",
            "1: spec.ingress[0].from[0].podSelector.matchExpressions[0].key",
        ],
        "{:#?}",
        messages(&errs)
    );
}

#[test]
fn errors_of_several_files_come_in_input_order() {
    let bad = |name: &str, value: &str| Input {
        name: name.into(),
        text: cnp(&format!(
            "  endpointSelector: {{}}\n  ingress:\n  - toPorts: [{{ports: [{{port: \"{value}\"}}]}}]\n"
        )),
    };
    let inputs = [bad("z.yaml", "99999"), bad("a.yaml", "-1")];
    let errs = manifest::parse(&inputs).unwrap_err().0;
    let files: Vec<&str> = errs.iter().map(|d| &*d.file).collect();
    assert_eq!(files, ["z.yaml", "a.yaml"]);
}

#[test]
fn a_kafka_rule_gets_one_not_supported_error() {
    let errs = errors(&cnp(
        "  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports: [{port: \"9092\", protocol: TCP}]\n      rules:\n        kafka: [{role: produce, topic: deathstar-plans}]\n",
    ));
    assert_eq!(errs.len(), 1, "{:#?}", messages(&errs));
    assert_eq!(errs[0].path, "spec.ingress[0].toPorts[0].rules.kafka");
    assert!(
        errs[0]
            .message
            .contains("kafka rules are not supported by this enforcer"),
        "{}",
        errs[0]
    );
}

#[test]
fn an_empty_to_services_list_means_nothing_and_is_accepted() {
    let m = parsed(&cnp(
        "  endpointSelector: {}\n  egress:\n  - toServices: []\n    toPorts: [{ports: [{port: \"53\", protocol: UDP}]}]\n  - toEndpoints: [{}]\n    toServices: []\n",
    ));
    let Object::Policy(p) = &m.objects[0].object else {
        panic!("not a policy")
    };
    assert_eq!(p.rules[0].egress.len(), 2);
    assert!(
        parsed(&cnp(
            "  endpointSelector: {}\n  egress:\n  - toServices: [{k8sService: {serviceName: a, namespace: b}}]\n",
        ))
        .warnings
        .is_empty()
    );
}

#[test]
fn bad_to_services_entries_name_their_paths_and_every_problem() {
    let errs = errors(&cnp(
        "  endpointSelector: {}\n  egress:\n  - toServices:\n    - k8sService: {serviceName: db, namespace: Shop}\n    - k8sServiceSelector: {selector: {matchLabels: {env: prod}}, namspace: shop}\n    - {k8sService: {serviceName: a}, k8sServiceSelector: {selector: {}}}\n  ingress:\n  - toServices: [{k8sService: {serviceName: db}}]\n",
    ));
    let got: Vec<(&str, &str)> = errs
        .iter()
        .map(|e| (e.path.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(got.len(), 4, "{:#?}", messages(&errs));
    assert!(
        got.contains(&(
            "spec.egress[0].toServices[0].k8sService.namespace",
            "invalid value \"Shop\": expected a DNS label (lowercase letters, digits and '-', at most 63)"
        )),
        "{got:#?}"
    );
    assert!(
        got.contains(&(
            "spec.egress[0].toServices[1].k8sServiceSelector.namspace",
            "unknown field \"namspace\""
        )),
        "{got:#?}"
    );
    assert!(
        got.iter().any(|(p, m)| *p == "spec.egress[0].toServices[2]"
            && m.contains("one of k8sService or k8sServiceSelector, not both")),
        "{got:#?}"
    );
    assert!(
        got.contains(&("spec.ingress[0].toServices", "unknown field \"toServices\"")),
        "toServices is egress only: {got:#?}"
    );
}

#[test]
fn bad_endpoints_and_slices_name_the_document_field_and_value() {
    let errs = errors(
        "apiVersion: v1\nkind: Endpoints\nmetadata: {name: ext, namespace: shop}\nsubsets:\n- addresses: [{ip: 203.0.113.999}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ext-1, namespace: shop, labels: {kubernetes.io/service-name: ext}}\naddressType: IPv6\nendpoints:\n- addresses: [203.0.113.7]\n",
    );
    assert_eq!(errs.len(), 2, "{:#?}", messages(&errs));
    assert_eq!(errs[0].document, 1);
    assert_eq!(errs[0].object.as_deref(), Some("Endpoints shop/ext"));
    assert_eq!(errs[0].path, "subsets[0].addresses[0].ip");
    assert!(errs[0].message.contains("\"203.0.113.999\""), "{}", errs[0]);
    assert_eq!(errs[1].document, 2);
    assert_eq!(errs[1].object.as_deref(), Some("EndpointSlice shop/ext-1"));
    assert_eq!(errs[1].path, "endpoints[0].addresses[0]");
    assert!(
        errs[1]
            .message
            .contains("invalid value \"203.0.113.7\": expected an IPv6 address"),
        "{}",
        errs[1]
    );
}

#[test]
fn a_top_level_description_is_dropped_with_a_warning_that_says_where_it_belongs() {
    let m = parsed(&format!(
        "{CNP_HEAD}description: \"L3-L4 policy\"\nspec:\n  endpointSelector: {{}}\n  ingress:\n  - {{}}\n"
    ));
    assert_eq!(m.objects.len(), 1);
    assert_eq!(m.warnings.len(), 1, "{:#?}", messages(&m.warnings));
    assert_eq!(m.warnings[0].path, "description");
    assert!(
        m.warnings[0].message.contains("as spec.description"),
        "{}",
        m.warnings[0]
    );
    let m = parsed(&cnp(
        "  description: \"L3-L4 policy\"\n  endpointSelector: {}\n  ingress:\n  - {}\n",
    ));
    assert_eq!(m.objects.len(), 1);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}

#[test]
fn unknown_metadata_keys_are_warned_about_as_kubectl_does_and_known_ones_are_silent() {
    let m = parsed(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\n  uid: 1f0e\n  resourceVersion: \"42\"\n  generation: 3\n  creationTimestamp: \"2024-01-01T00:00:00Z\"\n  deletionTimestamp: null\n  deletionGracePeriodSeconds: 30\n  generateName: web-\n  selfLink: /api/v1/x\n  finalizers: [a/b]\n  ownerReferences: []\n  managedFields: []\n  annotations: {a: b}\n  labels: {app: web}\n  lables: {app: web}\n",
    );
    assert_eq!(m.objects.len(), 1);
    assert_eq!(m.warnings.len(), 1, "{:#?}", messages(&m.warnings));
    let w = &m.warnings[0];
    assert_eq!(
        (w.severity, w.path.as_str(), w.message.as_str()),
        (
            Severity::Warning,
            "metadata.lables",
            "unknown field \"metadata.lables\""
        )
    );
    assert_eq!(w.line, 19);
}

#[test]
fn from_requires_and_to_requires_are_accepted_with_a_deprecation_warning() {
    let m = parsed(&cnp(
        "  endpointSelector: {matchLabels: {env: prod}}\n  ingress:\n  - fromRequires: [{matchLabels: {env: prod}}]\n  egress:\n  - toRequires: [{matchLabels: {env: prod}}]\n",
    ));
    let Object::Policy(p) = &m.objects[0].object else {
        panic!("not a policy")
    };
    assert_eq!(
        p.rules[0].ingress[0].requires.len(),
        1,
        "honoured, not dropped"
    );
    assert_eq!(
        p.rules[0].egress[0].requires.len(),
        1,
        "honoured, not dropped"
    );
    let got: Vec<(&str, &str)> = m
        .warnings
        .iter()
        .map(|w| (w.path.as_str(), w.message.as_str()))
        .collect();
    assert_eq!(got.len(), 2, "{got:#?}");
    let expected = [
        ("spec.ingress[0].fromRequires", "fromRequires"),
        ("spec.egress[0].toRequires", "toRequires"),
    ];
    for ((path, message), (want_path, field)) in got.iter().zip(expected) {
        assert_eq!(*path, want_path);
        assert!(
            message.starts_with(&format!(
                "{field} is deprecated in Cilium 1.17 and removed in 1.19; it is honoured here"
            )),
            "{message}"
        );
    }
}

#[test]
fn a_duplicate_object_is_warned_about_and_the_last_definition_wins_across_files() {
    let policy = |port: &str| {
        cnp(&format!(
            "  endpointSelector: {{}}\n  ingress:\n  - toPorts: [{{ports: [{{port: \"{port}\"}}]}}]\n"
        ))
    };
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\n";
    let inputs = [
        Input {
            name: "a.yaml".into(),
            text: format!("{}---\n{pod}", policy("80")),
        },
        Input {
            name: "b.yaml".into(),
            text: format!("{pod}---\n{}---\n{}", policy("443"), policy("8443")),
        },
    ];
    let m = manifest::parse(&inputs).unwrap_or_else(|e| panic!("{e}"));
    let kept: Vec<(&str, usize)> = m.objects.iter().map(|l| (&*l.file, l.document)).collect();
    assert_eq!(kept, [("b.yaml", 1), ("b.yaml", 3)]);
    let Object::Policy(p) = &m.objects[1].object else {
        panic!("not a policy")
    };
    let l4 = format!("{:?}", p.rules[0].ingress[0].l4);
    assert!(l4.contains("8443"), "{l4}");
    let warned: Vec<String> = m.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warned,
        [
            "warning: a.yaml:1:1: document 1 (CiliumNetworkPolicy shop/p): ignored: CiliumNetworkPolicy shop/p is defined again at b.yaml:13:1 (document 3), and the last definition wins (as with kubectl apply)",
            "warning: a.yaml:9:1: document 2 (Pod shop/web): ignored: Pod shop/web is defined again at b.yaml:1:1 (document 1), and the last definition wins (as with kubectl apply)",
            "warning: b.yaml:5:1: document 2 (CiliumNetworkPolicy shop/p): ignored: CiliumNetworkPolicy shop/p is defined again at b.yaml:13:1 (document 3), and the last definition wins (as with kubectl apply)",
        ]
    );
}

#[test]
fn dns_selectors_are_checked_as_the_proxy_compiles_them() {
    let spec = |name: &str, pattern: &str| {
        cnp(&format!(
            "  endpointSelector: {{}}\n  egress:\n  - toFQDNs:\n    - matchName: {name:?}\n    \
             - matchPattern: {pattern:?}\n    toPorts:\n    - ports:\n      - {{port: \"53\", protocol: ANY}}\n      \
             rules:\n        dns:\n        - matchPattern: \"**.partner.com\"\n"
        ))
    };
    let ok = parsed(&spec("api.partner.com", "*.cdn.example"));
    assert_eq!(ok.objects.len(), 1);
    let bad = messages(&errors(&spec("*.partner.com", "api.[a-z].com")));
    assert_eq!(bad.len(), 2, "{bad:#?}");
    assert!(
        bad[0].contains("spec.egress[0].toFQDNs[0].matchName: invalid matchName \"*.partner.com\"")
            && bad[0].contains("'*' is not allowed"),
        "{bad:#?}"
    );
    assert!(
        bad[1].contains("toFQDNs[1].matchPattern: invalid matchPattern \"api.[a-z].com\"")
            && bad[1].contains("'[' is not allowed"),
        "{bad:#?}"
    );
    let long = messages(&errors(&spec(&"a".repeat(256), "*")));
    assert!(long[0].contains("256 characters; at most 255"), "{long:#?}");
}

#[test]
fn a_pod_or_node_with_bad_metadata_still_reports_the_errors_after_it() {
    let yaml = r#"apiVersion: v1
kind: Pod
metadata:
  name: Web_1
  namespace: shop
spec:
  containers:
  - name: c
    ports:
    - {containerPort: 99999}
status: {podIP: not-an-ip}
---
apiVersion: v1
kind: Node
metadata: {name: "Bad_Name"}
status:
  addresses:
  - {type: InternalIP, address: 10.0.0.300}
"#;
    let got = paths(&errors(yaml));
    assert_eq!(
        got,
        vec![
            "1: metadata.name",
            "1: spec.containers[0].ports[0].containerPort",
            "1: status.podIP",
            "2: metadata.name",
            "2: status.addresses[0].address",
        ],
        "{got:#?}"
    );
}

#[test]
fn a_host_policy_with_l7_rules_is_refused_at_the_rules() {
    let errs = errors(
        "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: h}\nspec:\n  nodeSelector: {}\n  egress:\n  - toPorts:\n    - ports: [{port: \"80\", protocol: TCP}]\n      rules: {http: [{method: GET}]}\n",
    );
    assert_eq!(errs.len(), 1, "{:#?}", messages(&errs));
    assert_eq!(errs[0].path, "spec.egress[0].toPorts[0].rules");
    assert!(errs[0].message.contains("not supported in a host policy"));
}

#[test]
fn the_host_examples_are_accepted() {
    for file in [
        "ssh-and-ping.yaml",
        "lock-down-nodes.yaml",
        "workers.yaml",
        "gke-workers.yaml",
    ] {
        let path = format!("{}/../examples/host/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("example");
        let m = enforcer::manifest::parse_str(&path, &text).unwrap_or_else(|e| panic!("{e}"));
        assert!(!m.objects.is_empty(), "{file}");
    }
}
