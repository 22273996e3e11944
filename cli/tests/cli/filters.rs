//! Every filter family, replayed through the server's own filter code, against goldens.

use crate::util::{assert_golden_cases, replay, stdout};

#[test]
fn verdicts_not_and_selectors() {
    assert_golden_cases(
        "filters-verdict.txt",
        &[
            &["--verdict", "DROPPED"],
            &[
                "--verdict",
                "DROPPED",
                "--verdict",
                "FORWARDED",
                "--last",
                "3",
            ],
            &["--not", "--verdict", "FORWARDED"],
            &[
                "--not",
                "--verdict",
                "FORWARDED",
                "--not",
                "--to-port",
                "5432",
            ],
            &["--first", "2"],
            &["--last", "2"],
            &[
                "--since",
                "2024-03-14T16:53:01.500Z",
                "--until",
                "2024-03-14T16:53:01.800Z",
            ],
        ],
    );
}

#[test]
fn endpoints_either_side_and_namespaces() {
    assert_golden_cases(
        "filters-endpoints.txt",
        &[
            &["--ip", "10.0.3.7"],
            &["--from-ip", "10.0.1.0/24", "--to-port", "8080"],
            &["--pod", "shop/db"],
            &["--to-pod", "shop/backend", "--from-pod", "default/scanner"],
            &["-n", "kube-system"],
            &["--from-namespace", "default"],
            &["--label", "app=db"],
            &["--port", "53"],
            &["--identity", "world"],
            &["--to-fqdn", "*.example.com"],
            &["--to-service", "kube-system/kube-dns"],
        ],
    );
}

#[test]
fn packet_properties() {
    assert_golden_cases(
        "filters-packet.txt",
        &[
            &["--protocol", "udp"],
            &["--protocol", "icmp"],
            &["--tcp-flags", "syn,ack"],
            &["-6"],
            &["--type", "trace:to-endpoint"],
            &["--type", "policy-verdict"],
            &["--traffic-direction", "egress"],
            &["--node-name", "kind-worker2"],
            &["--interface", "lxc8a2b"],
            &["--drop-reason-desc", "STALE_OR_UNROUTABLE_IP"],
            &["--uuid", "00000000-0000-4000-8000-000000000003"],
        ],
    );
}

#[test]
fn policy_extensions() {
    assert_golden_cases(
        "filters-policy.txt",
        &[
            &["--policy", "shop/db-ingress"],
            &["--denied-by", "deny-world"],
            &["--allowed-by", "shop/backend-allow-frontend"],
            &["--policy-kind", "ccnp"],
            &["--drop-reason", "181"],
            &["--drop-reason", "POLICY_DENIED"],
            &["--default-deny"],
            &["--explicit-deny", "--traffic-direction", "ingress"],
            &[
                "--allowlist",
                r#"{"destination_pod":["shop/db"],"verdict":["DROPPED"]}"#,
            ],
        ],
    );
}

#[test]
fn lost_events_are_never_filtered() {
    let out = stdout(&replay(&["--verdict", "TRANSLATED"]));
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("EVENTS LOST: OBSERVER_EVENTS_QUEUE CPU(0) 17"),
        "{out}"
    );
}
