//! [`FilterArgs`]: every filter flag, its help text and its value parser. Nothing is
//! built here; [`crate::build`] turns the parsed values, in command-line order, into
//! filters.
//!
//! Names, short options and meanings are Hubble's `observe` flags for L3/L4 flows; the
//! flags under "Policy filters" are our extensions (FlowFilter fields 50001+). A field's
//! name is its clap id; its long flag is the id with `-` for `_`.

use clap::{ArgAction, Args};
use observe_proto::flow::{
    DropReason, EventTypeFilter, IpVersion, TcpFlags, TrafficDirection, Verdict, Workload,
};

use crate::values;

/// The flow filter flags of `observe flows` (and of the TUI's filter line).
///
/// A flag repeated with different values matches any of them (OR); different flags must
/// all match (AND); `--not` negates the next filter flag. Either-side flags (`--pod`,
/// `--ip`, `--label`, `--port`, ...) match the source or the destination.
#[derive(Args, Clone, Debug, Default, PartialEq)]
#[command(next_help_heading = "Filters")]
pub struct FilterArgs {
    /// Negate the next filter flag: matching flows are left out. Negated flags combine
    /// like the others (the same flag repeated: OR; different flags: AND) and flows
    /// matching the combination are left out. Example: --not --verdict FORWARDED
    #[arg(long, action = ArgAction::Append, num_args = 0, default_missing_value = "true")]
    pub not: Vec<bool>,
    /// Only the flow with this unique id. Example: --uuid 0f3e8f1a-6d2c-4f0e-9a51-3b1f6a9c2d77
    #[arg(long, value_name = "UUID", value_parser = values::non_empty)]
    pub uuid: Vec<String>,
    /// Flows observed on nodes matching this name glob. Example: --node-name 'worker-*'
    #[arg(long, value_name = "GLOB", value_parser = values::non_empty)]
    pub node_name: Vec<String>,
    /// Flows observed on nodes matching this label selector. Example: --node-label zone=a
    #[arg(long, value_name = "SELECTOR", value_parser = values::non_empty)]
    pub node_label: Vec<String>,
    /// Flows from or to endpoints of this cluster. Example: --cluster prod
    #[arg(long, value_name = "NAME", value_parser = values::non_empty)]
    pub cluster: Vec<String>,
    /// Flows from endpoints of this cluster. Example: --from-cluster prod
    #[arg(long, value_name = "NAME", value_parser = values::non_empty)]
    pub from_cluster: Vec<String>,
    /// Flows to endpoints of this cluster. Example: --to-cluster prod
    #[arg(long, value_name = "NAME", value_parser = values::non_empty)]
    pub to_cluster: Vec<String>,
    /// Flows of this L4 or L7 protocol: tcp, udp, sctp, icmp, icmpv4, icmpv6, vrrp, igmp,
    /// dns, http, kafka. Example: --protocol udp
    #[arg(long, value_name = "PROTOCOL", value_parser = values::protocol)]
    pub protocol: Vec<String>,
    /// TCP packets with all of these flags set (SYN, FIN, RST, PSH, ACK, URG, ECE, CWR, NS).
    /// Example: --tcp-flags syn,ack
    #[arg(long, value_name = "FLAGS", value_parser = values::tcp_flags)]
    pub tcp_flags: Vec<TcpFlags>,
    /// Flows of this event type, optionally of a subtype: drop, trace, policy-verdict,
    /// capture, trace-sock, l7 or a number; trace subtypes are observation points
    /// (to-endpoint, from-endpoint, to-stack, ...), drop subtypes drop reasons.
    /// Example: -t trace:to-endpoint, -t drop:POLICY_DENIED
    #[arg(short = 't', long = "type", value_name = "TYPE[:SUBTYPE]", value_parser = values::event_type)]
    pub r#type: Vec<EventTypeFilter>,
    /// Flows with this verdict: FORWARDED, DROPPED, AUDIT, REDIRECTED, ERROR, TRACED,
    /// TRANSLATED. Example: --verdict DROPPED
    #[arg(long, value_name = "VERDICT", value_parser = values::verdict)]
    pub verdict: Vec<Verdict>,
    /// New connections whose verdict under the staged policies (`observe policy stage`)
    /// is this. Example: --staged-verdict DROPPED (what the staged change would break)
    #[arg(long, value_name = "VERDICT", value_parser = values::verdict)]
    pub staged_verdict: Vec<Verdict>,
    /// Drops with this reason, by Hubble's enum name. Example: --drop-reason-desc POLICY_DENIED
    #[arg(long, value_name = "REASON", value_parser = values::drop_reason_desc)]
    pub drop_reason_desc: Vec<DropReason>,
    /// Flows carrying this IP-option trace id. Example: --ip-trace-id 42
    #[arg(long, value_name = "ID", value_parser = values::ip_trace_id)]
    pub ip_trace_id: Vec<u64>,
    /// Flows from or to this DNS name ('*' matches within a label). Example: --fqdn '*.example.com'
    #[arg(long, value_name = "FQDN", value_parser = values::non_empty)]
    pub fqdn: Vec<String>,
    /// Flows from this DNS name. Example: --from-fqdn api.example.com
    #[arg(long, value_name = "FQDN", value_parser = values::non_empty)]
    pub from_fqdn: Vec<String>,
    /// Flows to this DNS name. Example: --to-fqdn '*.example.com'
    #[arg(long, value_name = "FQDN", value_parser = values::non_empty)]
    pub to_fqdn: Vec<String>,
    /// Flows from or to this address or CIDR. Example: --ip 10.0.1.23, --ip 10.0.0.0/16
    #[arg(long, value_name = "IP|CIDR", value_parser = values::ip)]
    pub ip: Vec<String>,
    /// Flows from this address or CIDR. Example: --from-ip 203.0.113.10
    #[arg(long, value_name = "IP|CIDR", value_parser = values::ip)]
    pub from_ip: Vec<String>,
    /// Flows to this address or CIDR. Example: --to-ip 10.0.2.0/24
    #[arg(long, value_name = "IP|CIDR", value_parser = values::ip)]
    pub to_ip: Vec<String>,
    /// Flows whose source was SNATed to this address or CIDR. Example: --snat-ip 192.0.2.1
    #[arg(long, value_name = "IP|CIDR", value_parser = values::ip)]
    pub snat_ip: Vec<String>,
    /// Only IPv4 flows.
    #[arg(short = '4', long, action = ArgAction::Append, num_args = 0, default_missing_value = "true")]
    pub ipv4: Vec<bool>,
    /// Only IPv6 flows.
    #[arg(short = '6', long, action = ArgAction::Append, num_args = 0, default_missing_value = "true")]
    pub ipv6: Vec<bool>,
    /// Flows of this IP version: none (not IP, e.g. ARP), v4 or v6. Example: --ip-version v6
    #[arg(long, value_name = "VERSION", value_parser = values::ip_version)]
    pub ip_version: Vec<IpVersion>,
    /// Flows from or to pods whose name starts with this prefix, as [NAMESPACE/]PREFIX
    /// (no namespace: default). Example: --pod shop/frontend
    #[arg(long, value_name = "[NS/]POD", value_parser = values::namespaced)]
    pub pod: Vec<String>,
    /// Flows from pods with this name prefix ([NAMESPACE/]PREFIX). Example: --from-pod shop/frontend-
    #[arg(long, value_name = "[NS/]POD", value_parser = values::namespaced)]
    pub from_pod: Vec<String>,
    /// Flows to pods with this name prefix ([NAMESPACE/]PREFIX; NS/ is the whole
    /// namespace). Example: --to-pod shop/
    #[arg(long, value_name = "[NS/]POD", value_parser = values::namespaced)]
    pub to_pod: Vec<String>,
    /// Flows from or to this namespace (applies to pod and service filters).
    /// Example: -n shop
    #[arg(short = 'n', long, value_name = "NAMESPACE", value_parser = values::non_empty)]
    pub namespace: Vec<String>,
    /// Flows from this namespace. Example: --from-namespace shop
    #[arg(long, value_name = "NAMESPACE", value_parser = values::non_empty)]
    pub from_namespace: Vec<String>,
    /// Flows to this namespace. Example: --to-namespace kube-system
    #[arg(long, value_name = "NAMESPACE", value_parser = values::non_empty)]
    pub to_namespace: Vec<String>,
    /// Flows from or to pods of any namespace.
    #[arg(short = 'A', long, action = ArgAction::Append, num_args = 0, default_missing_value = "true")]
    pub all_namespaces: Vec<bool>,
    /// Flows from pods of any namespace.
    #[arg(long, action = ArgAction::Append, num_args = 0, default_missing_value = "true")]
    pub from_all_namespaces: Vec<bool>,
    /// Flows to pods of any namespace.
    #[arg(long, action = ArgAction::Append, num_args = 0, default_missing_value = "true")]
    pub to_all_namespaces: Vec<bool>,
    /// Flows from or to endpoints matching this label selector. Example: -l app=db,
    /// -l reserved:world
    #[arg(short = 'l', long, value_name = "SELECTOR", value_parser = values::non_empty)]
    pub label: Vec<String>,
    /// Flows from endpoints matching this label selector. Example: --from-label app=frontend
    #[arg(long, value_name = "SELECTOR", value_parser = values::non_empty)]
    pub from_label: Vec<String>,
    /// Flows to endpoints matching this label selector. Example: --to-label 'tier in (db)'
    #[arg(long, value_name = "SELECTOR", value_parser = values::non_empty)]
    pub to_label: Vec<String>,
    /// Flows from or to services with this name prefix ([NAMESPACE/]PREFIX).
    /// Example: --service shop/backend
    #[arg(long, value_name = "[NS/]SVC", value_parser = values::namespaced)]
    pub service: Vec<String>,
    /// Flows from services with this name prefix. Example: --from-service shop/backend
    #[arg(long, value_name = "[NS/]SVC", value_parser = values::namespaced)]
    pub from_service: Vec<String>,
    /// Flows to services with this name prefix. Example: --to-service kube-system/kube-dns
    #[arg(long, value_name = "[NS/]SVC", value_parser = values::namespaced)]
    pub to_service: Vec<String>,
    /// Flows with this source or destination port. Example: --port 53
    #[arg(long, value_name = "PORT", value_parser = values::port)]
    pub port: Vec<String>,
    /// Flows with this source port. Example: --from-port 43512
    #[arg(long, value_name = "PORT", value_parser = values::port)]
    pub from_port: Vec<String>,
    /// Flows with this destination port. Example: --to-port 5432
    #[arg(long, value_name = "PORT", value_parser = values::port)]
    pub to_port: Vec<String>,
    /// Flows from or to endpoints of this workload, as [KIND/]NAME.
    /// Example: --workload Deployment/frontend
    #[arg(long, value_name = "[KIND/]NAME", value_parser = values::workload)]
    pub workload: Vec<Workload>,
    /// Flows from endpoints of this workload. Example: --from-workload frontend
    #[arg(long, value_name = "[KIND/]NAME", value_parser = values::workload)]
    pub from_workload: Vec<Workload>,
    /// Flows to endpoints of this workload. Example: --to-workload StatefulSet/db
    #[arg(long, value_name = "[KIND/]NAME", value_parser = values::workload)]
    pub to_workload: Vec<Workload>,
    /// Flows from or to this security identity (a number or a reserved name: host,
    /// world, health, ...). Example: --identity world
    #[arg(long, value_name = "IDENTITY", value_parser = values::identity)]
    pub identity: Vec<u32>,
    /// Flows from this security identity. Example: --from-identity 48213
    #[arg(long, value_name = "IDENTITY", value_parser = values::identity)]
    pub from_identity: Vec<u32>,
    /// Flows to this security identity. Example: --to-identity host
    #[arg(long, value_name = "IDENTITY", value_parser = values::identity)]
    pub to_identity: Vec<u32>,
    /// Flows in this direction relative to the observed endpoint: ingress or egress.
    /// Example: --traffic-direction ingress
    #[arg(long, value_name = "DIRECTION", value_parser = values::traffic_direction)]
    pub traffic_direction: Vec<TrafficDirection>,
    /// Flows observed on this network interface. Example: --interface lxc8a2b
    #[arg(long, value_name = "NAME", value_parser = values::non_empty)]
    pub interface: Vec<String>,
    /// HTTP flows with this status code, or a class of them (`5+`: every 5xx).
    /// Example: --http-status 403
    #[arg(long, value_name = "CODE", value_parser = values::http_status)]
    pub http_status: Vec<String>,
    /// HTTP flows with this method (case-insensitive). Example: --http-method POST
    #[arg(long, value_name = "METHOD", value_parser = values::non_empty)]
    pub http_method: Vec<String>,
    /// HTTP flows whose path matches this regular expression. Example: --http-path '/api/.*'
    #[arg(long, value_name = "REGEX", value_parser = values::non_empty)]
    pub http_path: Vec<String>,
    /// HTTP flows whose URL matches this regular expression. Example: --http-url 'backend:8080'
    #[arg(long, value_name = "REGEX", value_parser = values::non_empty)]
    pub http_url: Vec<String>,
    /// HTTP flows with this header and value, as KEY:VALUE. Example: --http-header 'x-token:abc'
    #[arg(long, value_name = "KEY:VALUE", value_parser = values::http_header)]
    pub http_header: Vec<(String, String)>,
    /// Only encrypted flows (WireGuard, IPsec).
    #[arg(long, action = ArgAction::Append, num_args = 0, default_missing_value = "true")]
    pub encrypted: Vec<bool>,
    /// Only unencrypted flows.
    #[arg(long, action = ArgAction::Append, num_args = 0, default_missing_value = "true")]
    pub unencrypted: Vec<bool>,

    /// Flows a policy took part in (allowed them, denied them, or for a default deny,
    /// selected the endpoint), as NAMESPACE/NAME or NAME for cluster-wide policies.
    /// Example: --policy shop/db-ingress
    #[arg(long, value_name = "[NS/]NAME", value_parser = values::policy_name, help_heading = "Policy filters")]
    pub policy: Vec<String>,
    /// Flows a policy of this kind took part in: CiliumNetworkPolicy (CNP),
    /// CiliumClusterwideNetworkPolicy (CCNP) or NetworkPolicy (KNP). Example: --policy-kind knp
    #[arg(long, value_name = "KIND", value_parser = values::policy_kind, help_heading = "Policy filters")]
    pub policy_kind: Vec<String>,
    /// Flows this policy allowed. Example: --allowed-by shop/frontend-egress
    #[arg(long, value_name = "[NS/]NAME", value_parser = values::policy_name, help_heading = "Policy filters")]
    pub allowed_by: Vec<String>,
    /// Flows this policy denied: with a deny rule, or by selecting the endpoint without
    /// allowing the flow (default deny). Example: --denied-by shop/db-ingress
    #[arg(long, value_name = "[NS/]NAME", value_parser = values::policy_name, help_heading = "Policy filters")]
    pub denied_by: Vec<String>,
    /// Drops with this reason code or name. Example: --drop-reason 133,
    /// --drop-reason POLICY_DENY
    #[arg(long, value_name = "CODE|NAME", value_parser = values::drop_reason_code, help_heading = "Policy filters")]
    pub drop_reason: Vec<u32>,
    /// Drops because no rule allowed the flow while policies select the endpoint (133).
    #[arg(long, action = ArgAction::Append, num_args = 0, default_missing_value = "true", help_heading = "Policy filters")]
    pub default_deny: Vec<bool>,
    /// Drops because a deny rule matched (181).
    #[arg(long, action = ArgAction::Append, num_args = 0, default_missing_value = "true", help_heading = "Policy filters")]
    pub explicit_deny: Vec<bool>,

    /// Raw FlowFilter to allow, as JSON with proto field names (several per value are
    /// fine). Example: --allowlist '{"source_pod":["shop/"],"verdict":["DROPPED"]}'
    #[arg(long, value_name = "JSON", help_heading = "Raw filters")]
    pub allowlist: Vec<String>,
    /// Raw FlowFilter to deny, as JSON. Example: --denylist '{"destination_port":["53"]}'
    #[arg(long, value_name = "JSON", help_heading = "Raw filters")]
    pub denylist: Vec<String>,
}
