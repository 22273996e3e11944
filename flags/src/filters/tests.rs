//! One test (at least) per flag family: OR, AND, `--not`, either-side flags, namespace
//! folding, conflicts, defaults, raw filters, extensions, and order through `ArgMatches`.

use clap::{CommandFactory, FromArgMatches, Parser};
use observe_proto::flow::{
    DropReason, EventTypeFilter, FlowFilter, IpVersion, NetworkInterface, PolicyVerdictKind,
    TcpFlags, TrafficDirection, Verdict, Workload,
};

use super::*;
use crate::parse_filter_line;

fn parse(line: &str) -> Filters {
    parse_filter_line(line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn err(line: &str) -> FlagsError {
    match parse_filter_line(line) {
        Ok(f) => panic!("{line} should fail, got {f:?}"),
        Err(e) => e,
    }
}

fn filter(set: impl FnOnce(&mut FlowFilter)) -> FlowFilter {
    let mut f = FlowFilter::default();
    set(&mut f);
    f
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

fn verdicts(values: &[Verdict]) -> Vec<i32> {
    values.iter().map(|&v| v as i32).collect()
}

#[test]
fn a_repeated_flag_matches_any_of_its_values() {
    let f = parse("--verdict DROPPED --verdict audit");
    assert_eq!(
        f.whitelist,
        [filter(
            |f| f.verdict = verdicts(&[Verdict::Dropped, Verdict::Audit])
        )]
    );
    assert!(f.blacklist.is_empty());
}

#[test]
fn different_flags_must_all_match() {
    let f = parse("--verdict DROPPED --protocol TCP --to-port 5432");
    assert_eq!(
        f.whitelist,
        [filter(|f| {
            f.verdict = verdicts(&[Verdict::Dropped]);
            f.protocol = strings(&["tcp"]);
            f.destination_port = strings(&["5432"]);
        })]
    );
}

#[test]
fn not_negates_only_the_next_filter() {
    let expected = Filters {
        whitelist: vec![filter(|f| f.protocol = strings(&["udp"]))],
        blacklist: vec![filter(|f| f.verdict = verdicts(&[Verdict::Forwarded]))],
    };
    assert_eq!(parse("--not --verdict FORWARDED --protocol udp"), expected);
    assert_eq!(parse("--protocol udp --not --verdict FORWARDED"), expected);
    let both = parse("--verdict DROPPED --not --verdict AUDIT");
    assert_eq!(both.whitelist[0].verdict, verdicts(&[Verdict::Dropped]));
    assert_eq!(both.blacklist[0].verdict, verdicts(&[Verdict::Audit]));
}

#[test]
fn negated_flags_combine_like_the_others() {
    // Same flag twice: neither value. Different flags: not both at once (Hubble).
    assert_eq!(
        parse("--not --verdict FORWARDED --not --verdict TRACED").blacklist,
        [filter(
            |f| f.verdict = verdicts(&[Verdict::Forwarded, Verdict::Traced])
        )]
    );
    assert_eq!(
        parse("--not --verdict FORWARDED --not --to-namespace kube-system").blacklist,
        [filter(|f| {
            f.verdict = verdicts(&[Verdict::Forwarded]);
            f.destination_pod = strings(&["kube-system/"]);
        })]
    );
}

#[test]
fn not_must_be_followed_by_exactly_one_filter() {
    assert_eq!(err("--verdict DROPPED --not"), FlagsError::TrailingNot);
    assert_eq!(
        err("--not --not --verdict DROPPED"),
        FlagsError::ConsecutiveNot
    );
    // A raw filter is not a filter flag: --not before it has nothing to negate.
    assert_eq!(err(r#"--not --allowlist {}"#), FlagsError::TrailingNot);
}

#[test]
fn either_side_flags_build_a_source_and_a_destination_filter() {
    /// How many values a filter has in one field.
    type Count = fn(&FlowFilter) -> usize;
    let cases: &[(&str, Count, Count)] = &[
        (
            "--pod shop/db",
            |f| f.source_pod.len(),
            |f| f.destination_pod.len(),
        ),
        (
            "--ip 10.0.0.1",
            |f| f.source_ip.len(),
            |f| f.destination_ip.len(),
        ),
        (
            "--label app=db",
            |f| f.source_label.len(),
            |f| f.destination_label.len(),
        ),
        (
            "--port 53",
            |f| f.source_port.len(),
            |f| f.destination_port.len(),
        ),
        (
            "--identity world",
            |f| f.source_identity.len(),
            |f| f.destination_identity.len(),
        ),
        (
            "--service shop/db",
            |f| f.source_service.len(),
            |f| f.destination_service.len(),
        ),
        (
            "--fqdn '*.example.com'",
            |f| f.source_fqdn.len(),
            |f| f.destination_fqdn.len(),
        ),
        (
            "--workload db",
            |f| f.source_workload.len(),
            |f| f.destination_workload.len(),
        ),
        (
            "--cluster prod",
            |f| f.source_cluster_name.len(),
            |f| f.destination_cluster_name.len(),
        ),
    ];
    for (line, source, destination) in cases {
        let f = parse(&format!("{line} --verdict DROPPED"));
        assert_eq!(f.whitelist.len(), 2, "{line}");
        let (left, right) = (&f.whitelist[0], &f.whitelist[1]);
        assert_eq!((source(left), destination(left)), (1, 0), "{line} left");
        assert_eq!((source(right), destination(right)), (0, 1), "{line} right");
        // Other flags go to both sides.
        assert_eq!(left.verdict, right.verdict, "{line}");
    }
    assert_eq!(
        parse("--identity world").whitelist[0].source_identity,
        [2],
        "reserved names become numbers"
    );
}

#[test]
fn one_sided_flags_build_one_filter() {
    let f = parse("--from-pod shop/frontend --to-pod shop/db --to-port 5432 --from-label app=web");
    assert_eq!(
        f.whitelist,
        [filter(|f| {
            f.source_pod = strings(&["shop/frontend"]);
            f.destination_pod = strings(&["shop/db"]);
            f.destination_port = strings(&["5432"]);
            f.source_label = strings(&["app=web"]);
        })]
    );
    let w = parse("--from-workload Deployment/web --to-identity host --from-ip 10.0.0.0/8");
    assert_eq!(
        w.whitelist[0].source_workload,
        [Workload {
            kind: "Deployment".into(),
            name: "web".into()
        }]
    );
    assert_eq!(w.whitelist[0].destination_identity, [1]);
    assert_eq!(w.whitelist[0].source_ip, ["10.0.0.0/8"]);
}

#[test]
fn namespaces_fold_into_pod_and_service_filters() {
    assert_eq!(
        parse("-n shop").whitelist,
        [
            filter(|f| f.source_pod = strings(&["shop/"])),
            filter(|f| f.destination_pod = strings(&["shop/"])),
        ]
    );
    assert_eq!(
        parse("-n shop --pod web").whitelist,
        [
            filter(|f| f.source_pod = strings(&["shop/web"])),
            filter(|f| f.destination_pod = strings(&["shop/web"])),
        ]
    );
    assert_eq!(
        parse("--from-namespace shop --to-namespace db --to-namespace cache").whitelist,
        [filter(|f| {
            f.source_pod = strings(&["shop/"]);
            f.destination_pod = strings(&["db/", "cache/"]);
        })]
    );
    assert_eq!(
        parse("--from-namespace shop --from-service backend").whitelist,
        [filter(|f| f.source_service = strings(&["shop/backend"]))]
    );
    assert_eq!(
        parse("-A").whitelist,
        [
            filter(|f| f.source_pod = strings(&["/"])),
            filter(|f| f.destination_pod = strings(&["/"])),
        ]
    );
    assert_eq!(
        parse("--to-all-namespaces --to-pod coredns").whitelist[0].destination_pod,
        ["/coredns"]
    );
}

#[test]
fn a_pod_without_namespace_is_sent_bare_for_the_default_namespace() {
    // The server reads a bare name as `default/NAME`, as Hubble's does.
    assert_eq!(
        parse("--from-pod frontend").whitelist[0].source_pod,
        ["frontend"]
    );
}

#[test]
fn namespace_flags_and_pods_in_other_namespaces_conflict() {
    assert_eq!(
        err("--from-namespace shop --from-pod other/x"),
        FlagsError::NamespaceConflict {
            namespace: "shop".into(),
            name: "other/x".into()
        }
    );
    assert!(matches!(
        err("--from-pod shop/web --from-service other/api"),
        FlagsError::ServiceNamespace { .. }
    ));
    assert!(parse_filter_line("--from-namespace shop --from-pod shop/x").is_ok());
}

#[test]
fn contradicting_flags_are_rejected_per_list() {
    assert_eq!(
        err("--port 53 --to-port 53"),
        FlagsError::Conflict {
            first: "port",
            second: "to-port"
        }
    );
    assert!(matches!(
        err("--ip 10.0.0.1 --from-pod x"),
        FlagsError::Conflict { .. }
    ));
    // The allow and deny lists are checked separately.
    assert!(parse_filter_line("--port 53 --not --to-port 80").is_ok());
}

#[test]
fn defaults_apply_until_the_user_sets_the_same_flag() {
    let (args, matches) = crate::line::parse_args(&["--verdict", "FORWARDED"]).unwrap();
    let defaults = ["--verdict", "DROPPED", "--protocol", "tcp"];
    let f = build_with_defaults(&args, &matches, &defaults).unwrap();
    assert_eq!(
        f.whitelist,
        [filter(|f| {
            f.protocol = strings(&["tcp"]);
            f.verdict = verdicts(&[Verdict::Forwarded]);
        })],
        "the first --verdict wiped the default verdict, the default protocol stays"
    );
    let (args, matches) = crate::line::parse_args(&["--not", "--verdict", "AUDIT"]).unwrap();
    let f = build_with_defaults(&args, &matches, &defaults).unwrap();
    assert_eq!(
        f.whitelist[0].verdict,
        verdicts(&[Verdict::Dropped]),
        "a negated flag does not wipe an allow-list default"
    );
    assert!(build_with_defaults(&args, &matches, &["--verdict", "NOPE"]).is_err());
}

#[test]
fn general_flags_set_their_fields() {
    let f = parse(
        "--uuid u1 --node-name 'worker-*' --node-label zone=a -t trace:to-endpoint \
         --tcp-flags syn,ack --drop-reason-desc policy_denied --ip-trace-id 7 \
         --snat-ip 192.0.2.1 --traffic-direction INGRESS --interface lxc1 --encrypted",
    );
    assert_eq!(
        f.whitelist,
        [filter(|f| {
            f.uuid = strings(&["u1"]);
            f.node_name = strings(&["worker-*"]);
            f.node_labels = strings(&["zone=a"]);
            f.event_type = vec![EventTypeFilter {
                r#type: 4,
                match_sub_type: true,
                sub_type: 0,
            }];
            f.tcp_flags = vec![TcpFlags {
                syn: true,
                ack: true,
                ..Default::default()
            }];
            f.drop_reason_desc = vec![DropReason::PolicyDenied as i32];
            f.ip_trace_id = vec![7];
            f.source_ip_xlated = strings(&["192.0.2.1"]);
            f.traffic_direction = vec![TrafficDirection::Ingress as i32];
            f.interface = vec![NetworkInterface {
                index: 0,
                name: "lxc1".into(),
            }];
            f.encrypted = vec![true];
        })]
    );
}

#[test]
fn http_flags_set_hubble_s_http_fields() {
    let f = parse(
        "--http-status 403 --http-status 5+ --http-method post --http-path '/api/.*' \
         --http-url backend --http-header 'x-token: abc'",
    );
    assert_eq!(
        f.whitelist,
        [filter(|f| {
            f.http_status_code = strings(&["403", "5+"]);
            f.http_method = strings(&["post"]);
            f.http_path = strings(&["/api/.*"]);
            f.http_url = strings(&["backend"]);
            f.http_header = vec![observe_proto::flow::HttpHeader {
                key: "x-token".into(),
                value: "abc".into(),
            }];
        })]
    );
    for bad in [
        "--http-status 99",
        "--http-status 0+",
        "--http-header novalue",
    ] {
        let _ = err(bad);
    }
}

#[test]
fn ip_version_flags_accumulate() {
    assert_eq!(
        parse("-4 -6").whitelist[0].ip_version,
        [IpVersion::IPv4 as i32, IpVersion::IPv6 as i32]
    );
    assert_eq!(
        parse("--ip-version none").whitelist[0].ip_version,
        [IpVersion::IpNotUsed as i32]
    );
    assert_eq!(parse("--unencrypted").whitelist[0].encrypted, [false]);
    assert!(matches!(
        err("--encrypted --unencrypted"),
        FlagsError::Conflict { .. }
    ));
}

#[test]
fn policy_flags_set_the_extension_fields() {
    let f = parse(
        "--policy shop/db-ingress --policy-kind cnp --allowed-by shop/web --denied-by deny-world \
         --drop-reason 133 --drop-reason POLICY_DENY --default-deny --explicit-deny",
    );
    assert_eq!(
        f.whitelist,
        [filter(|f| {
            f.policy = strings(&["shop/db-ingress"]);
            f.policy_kind = strings(&["CiliumNetworkPolicy"]);
            f.allowed_by = strings(&["shop/web"]);
            f.denied_by = strings(&["deny-world"]);
            f.drop_reason = vec![133, 181];
            f.deny_kind = vec![
                PolicyVerdictKind::DefaultDeny as i32,
                PolicyVerdictKind::ExplicitDeny as i32,
            ];
        })]
    );
}

#[test]
fn raw_filters_follow_the_flag_filters() {
    let f = parse(
        r#"--verdict DROPPED --allowlist '{"source_pod":["shop/"]}' --denylist '{"destination_port":["53"]}'"#,
    );
    assert_eq!(
        f.whitelist,
        [
            filter(|f| f.verdict = verdicts(&[Verdict::Dropped])),
            filter(|f| f.source_pod = strings(&["shop/"])),
        ]
    );
    assert_eq!(
        f.blacklist,
        [filter(|f| f.destination_port = strings(&["53"]))]
    );
    assert!(matches!(
        err("--allowlist '{'"),
        FlagsError::RawFilter {
            flag: "allowlist",
            ..
        }
    ));
}

/// A command that flattens the filters next to other flags, like `observe flows`.
#[derive(Parser, Debug)]
struct Flows {
    #[command(flatten)]
    filters: FilterArgs,
    #[arg(short = 'o', long, default_value = "compact")]
    output: String,
    #[arg(long)]
    last: Option<u64>,
}

#[test]
fn order_is_read_from_the_matches_of_a_larger_command() {
    let argv = [
        "observe",
        "-o",
        "json",
        "--not",
        "--last",
        "5",
        "--verdict",
        "FORWARDED",
        "--to-port",
        "53",
    ];
    let matches = Flows::command().get_matches_from(argv);
    let flows = Flows::from_arg_matches(&matches).unwrap();
    let f = build(&flows.filters, &matches).unwrap();
    assert_eq!(
        f.blacklist,
        [filter(|f| f.verdict = verdicts(&[Verdict::Forwarded]))],
        "--not skips non-filter flags and negates the next filter flag"
    );
    assert_eq!(
        f.whitelist,
        [filter(|f| f.destination_port = strings(&["53"]))]
    );
}

#[test]
fn args_built_in_code_need_no_indices() {
    let args = FilterArgs {
        verdict: vec![Verdict::Dropped],
        to_port: strings(&["53"]),
        ..Default::default()
    };
    let matches = clap::Command::new("none").get_matches_from(["none"]);
    let f = build(&args, &matches).unwrap();
    assert_eq!(
        f.whitelist,
        [filter(|f| {
            f.verdict = verdicts(&[Verdict::Dropped]);
            f.destination_port = strings(&["53"]);
        })]
    );
    assert!(Filters::default().is_empty());
}

#[test]
fn the_staged_verdict_is_its_own_field() {
    let f = parse("--staged-verdict DROPPED --verdict FORWARDED");
    assert_eq!(
        f.whitelist,
        [filter(|f| {
            f.staged_verdict = verdicts(&[Verdict::Dropped]);
            f.verdict = verdicts(&[Verdict::Forwarded]);
        })]
    );
}
