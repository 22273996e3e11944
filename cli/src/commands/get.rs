//! `observe get endpoints|identities|policies|nodes|namespaces|fqdn [-o table|json]`.

use std::process::ExitCode;

use anyhow::Result;
use observe_proto::control::control_client::ControlClient;
use observe_proto::control::{
    GetEndpointsRequest, GetFqdnCacheRequest, GetIdentitiesRequest, GetNamespacesRequest,
    GetNodesRequest, GetPoliciesRequest,
};
use serde::Serialize;

use crate::args::GlobalArgs;
use crate::connect;
use crate::output::table;

/// Flags of `observe get`.
#[derive(clap::Args, Debug)]
pub struct GetArgs {
    /// What to list.
    #[arg(value_enum)]
    pub what: What,
    /// Output format. Example: -o json
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    pub format: GetFormat,
    /// With `policies`: every rule with the connections it allowed and denied since the
    /// agent started, and when it last decided one; rules that never did are `unused`.
    #[arg(long)]
    pub hits: bool,
}

/// What `observe get` lists.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum What {
    /// Local endpoints, like `cilium endpoint list`.
    Endpoints,
    /// Security identities in use.
    Identities,
    /// Applied policies.
    Policies,
    /// Nodes, with their labels, addresses and identity as this node sees them.
    Nodes,
    /// Namespaces, with the labels namespace selectors match.
    Namespaces,
    /// What the DNS proxy learned per endpoint (name, address, TTL), like `cilium fqdn
    /// cache list`.
    Fqdn,
}

/// Output format of `observe get`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetFormat {
    /// Aligned columns.
    Table,
    /// A JSON array.
    Json,
}

/// Runs `observe get`.
pub fn run(global: &GlobalArgs, args: &GetArgs) -> Result<ExitCode> {
    let format = args.format;
    connect::block_on(async {
        let mut client = ControlClient::new(connect::channel(global).await?);
        let fail = |s: tonic::Status| connect::timed_out(&s, global).unwrap_or_else(|| s.into());
        let text = match args.what {
            What::Endpoints => {
                let reply = client
                    .get_endpoints(connect::request(global, GetEndpointsRequest {}))
                    .await
                    .map_err(fail)?;
                endpoints(&reply.into_inner().endpoints, format)?
            }
            What::Identities => {
                let reply = client
                    .get_identities(connect::request(global, GetIdentitiesRequest {}))
                    .await
                    .map_err(fail)?;
                identities(&reply.into_inner().identities, format)?
            }
            What::Policies => {
                let request = GetPoliciesRequest { hits: args.hits };
                let reply = client
                    .get_policies(connect::request(global, request))
                    .await
                    .map_err(fail)?;
                let ps = reply.into_inner().policies;
                if args.hits {
                    crate::output::rule_hits::render(&ps, format == GetFormat::Json)?
                } else {
                    policies(&ps, format)?
                }
            }
            What::Nodes => {
                let reply = client
                    .get_nodes(connect::request(global, GetNodesRequest {}))
                    .await
                    .map_err(fail)?;
                let reply = reply.into_inner();
                let mut text = nodes(&reply.nodes, format)?;
                if let (Some(k), GetFormat::Table) = (&reply.kvstore, format) {
                    text.push_str(&kvstore_line(k));
                }
                text
            }
            What::Namespaces => {
                let reply = client
                    .get_namespaces(connect::request(global, GetNamespacesRequest {}))
                    .await
                    .map_err(fail)?;
                namespaces(&reply.into_inner().namespaces, format)?
            }
            What::Fqdn => {
                let reply = client
                    .get_fqdn_cache(connect::request(global, GetFqdnCacheRequest {}))
                    .await
                    .map_err(fail)?;
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
                fqdn(&reply.into_inner().entries, format, now)?
            }
        };
        print!("{text}");
        Ok(ExitCode::SUCCESS)
    })
}

/// `items` as a pretty JSON array of `json(item)` (every field always present, unlike
/// proto3 JSON), or as a table of `row(item)` under `header`.
fn render<'a, T, J: Serialize>(
    items: &'a [T],
    format: GetFormat,
    json: impl Fn(&'a T) -> J,
    header: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> Result<String> {
    if format == GetFormat::Json {
        let rows: Vec<J> = items.iter().map(json).collect();
        return Ok(serde_json::to_string_pretty(&rows)? + "\n");
    }
    let rows: Vec<Vec<String>> = items.iter().map(row).collect();
    Ok(table::render(header, &rows))
}

/// The JSON shape of an endpoint.
#[derive(Serialize)]
struct EndpointJson<'a> {
    id: u32,
    namespace: &'a str,
    pod: &'a str,
    /// The workload, as `deployment/NAME`; null for a bare pod.
    owner: Option<&'a str>,
    identity: u32,
    labels: &'a [String],
    ips: &'a [String],
    netns: &'a str,
    ingress_enforced: bool,
    egress_enforced: bool,
    status: &'a str,
    node: &'a str,
    interface: &'a str,
    ingress_policies: &'a [String],
    egress_policies: &'a [String],
}

fn enabled(b: bool) -> String {
    if b {
        "Enabled".into()
    } else {
        "Disabled".into()
    }
}

fn endpoints(eps: &[observe_proto::control::Endpoint], format: GetFormat) -> Result<String> {
    fn json(e: &observe_proto::control::Endpoint) -> EndpointJson<'_> {
        EndpointJson {
            id: e.id,
            namespace: &e.namespace,
            pod: &e.pod,
            owner: Some(e.owner.as_str()).filter(|o| !o.is_empty()),
            identity: e.identity,
            labels: &e.labels,
            ips: &e.ips,
            netns: &e.netns,
            ingress_enforced: e.ingress_enforced,
            egress_enforced: e.egress_enforced,
            status: &e.status,
            node: &e.node,
            interface: &e.interface,
            ingress_policies: &e.ingress_policies,
            egress_policies: &e.egress_policies,
        }
    }
    let header = [
        "ENDPOINT",
        "POD",
        "OWNER",
        "IDENTITY",
        "INGRESS",
        "EGRESS",
        "IPS",
        "INTERFACE",
        "NETNS",
        "STATUS",
    ];
    render(eps, format, json, &header, |e| {
        vec![
            e.id.to_string(),
            format!("{}/{}", e.namespace, e.pod),
            if e.owner.is_empty() {
                "<none>".into()
            } else {
                e.owner.clone()
            },
            e.identity.to_string(),
            enabled(e.ingress_enforced),
            enabled(e.egress_enforced),
            e.ips.join(","),
            e.interface.clone(),
            e.netns.clone(),
            e.status.clone(),
        ]
    })
}

fn identities(ids: &[observe_proto::control::Identity], format: GetFormat) -> Result<String> {
    #[derive(Serialize)]
    struct Json<'a> {
        id: u32,
        labels: &'a [String],
        endpoints: &'a [String],
    }
    fn json(i: &observe_proto::control::Identity) -> Json<'_> {
        Json {
            id: i.id,
            labels: &i.labels,
            endpoints: &i.endpoints,
        }
    }
    render(ids, format, json, &["ID", "ENDPOINTS", "LABELS"], |i| {
        vec![i.id.to_string(), i.endpoints.join(","), i.labels.join(" ")]
    })
}

fn policies(ps: &[observe_proto::control::Policy], format: GetFormat) -> Result<String> {
    #[derive(Serialize)]
    struct Json<'a> {
        kind: &'a str,
        namespace: &'a str,
        name: &'a str,
        rules: u32,
        endpoints: &'a [String],
    }
    fn json(p: &observe_proto::control::Policy) -> Json<'_> {
        Json {
            kind: &p.kind,
            namespace: &p.namespace,
            name: &p.name,
            rules: p.rules,
            endpoints: &p.endpoints,
        }
    }
    let header = ["KIND", "NAMESPACE", "NAME", "RULES", "ENDPOINTS"];
    render(ps, format, json, &header, |p| {
        vec![
            p.kind.clone(),
            p.namespace.clone(),
            p.name.clone(),
            p.rules.to_string(),
            p.endpoints.join(","),
        ]
    })
}

fn nodes(ns: &[observe_proto::control::Node], format: GetFormat) -> Result<String> {
    #[derive(Serialize)]
    struct Json<'a> {
        name: &'a str,
        local: bool,
        #[serde(skip_serializing_if = "str::is_empty")]
        health: &'a str,
        identity: u32,
        ips: &'a [String],
        #[serde(skip_serializing_if = "str::is_empty")]
        pod_cidr: &'a str,
        pods: u32,
        labels: &'a [String],
    }
    fn json(n: &observe_proto::control::Node) -> Json<'_> {
        Json {
            name: &n.name,
            local: n.local,
            health: &n.health,
            identity: n.identity,
            ips: &n.ips,
            pod_cidr: &n.pod_cidr,
            pods: n.pods,
            labels: &n.labels,
        }
    }
    let header = ["NAME", "HEALTH", "IDENTITY", "IPS", "PODS", "LABELS"];
    render(ns, format, json, &header, |n| {
        let identity = match probe_common::identity::name(n.identity) {
            Some(reserved) => format!("{} ({reserved})", n.identity),
            None => n.identity.to_string(),
        };
        let health = if n.health.is_empty() { "-" } else { &n.health };
        vec![
            n.name.clone(),
            health.to_string(),
            identity,
            n.ips.join(","),
            n.pods.to_string(),
            n.labels.join(" "),
        ]
    })
}

/// The store as the answering node sees it, under the nodes table.
fn kvstore_line(k: &observe_proto::control::Kvstore) -> String {
    if k.connected {
        format!("\nkvstore {}: connected, revision {}\n", k.url, k.revision)
    } else {
        format!(
            "\nkvstore {}: unreachable ({}); enforcing the last-known state (revision {})\n",
            k.url, k.last_error, k.revision
        )
    }
}

fn namespaces(ns: &[observe_proto::control::Namespace], format: GetFormat) -> Result<String> {
    #[derive(Serialize)]
    struct Json<'a> {
        name: &'a str,
        pods: u32,
        labels: &'a [String],
    }
    fn json(n: &observe_proto::control::Namespace) -> Json<'_> {
        Json {
            name: &n.name,
            pods: n.pods,
            labels: &n.labels,
        }
    }
    render(ns, format, json, &["NAME", "PODS", "LABELS"], |n| {
        vec![n.name.clone(), n.pods.to_string(), n.labels.join(" ")]
    })
}

/// The DNS cache: one row per endpoint, name and address; TTL is what is left at `now_ms`.
fn fqdn<'a>(
    entries: &'a [observe_proto::control::FqdnEntry],
    format: GetFormat,
    now_ms: i64,
) -> Result<String> {
    #[derive(Serialize)]
    struct Json<'a> {
        endpoint: String,
        endpoint_id: u32,
        name: &'a str,
        ip: &'a str,
        ttl_seconds: i64,
        expires: String,
        source: &'a str,
        zombie: bool,
    }
    let ttl = |e: &observe_proto::control::FqdnEntry| (e.expires_unix_ms - now_ms).max(0) / 1000;
    let time = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    let json = |e: &'a observe_proto::control::FqdnEntry| Json {
        endpoint: format!("{}/{}", e.namespace, e.pod),
        endpoint_id: e.endpoint_id,
        name: &e.name,
        ip: &e.ip,
        ttl_seconds: ttl(e),
        expires: time(e.expires_unix_ms),
        source: &e.source,
        zombie: e.zombie,
    };
    let row = |e: &observe_proto::control::FqdnEntry| {
        let state = if e.zombie { " (zombie)" } else { "" };
        vec![
            format!("{}/{}", e.namespace, e.pod),
            e.source.clone(),
            e.name.clone(),
            format!("{}{state}", ttl(e)),
            time(e.expires_unix_ms),
            e.ip.clone(),
        ]
    };
    render(
        entries,
        format,
        json,
        &["ENDPOINT", "SOURCE", "FQDN", "TTL", "EXPIRATION TIME", "IP"],
        row,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fqdn_table_shows_the_ttl_left_and_zombies() {
        let entry = observe_proto::control::FqdnEntry {
            namespace: "shop".into(),
            pod: "web".into(),
            endpoint_id: 3,
            name: "api.partner.com.".into(),
            ip: "203.0.113.10".into(),
            last_seen_unix_ms: 1_000_000,
            expires_unix_ms: 1_060_000,
            zombie: false,
            source: "lookup".into(),
        };
        let zombie = observe_proto::control::FqdnEntry {
            expires_unix_ms: 1_000_000,
            zombie: true,
            ..entry.clone()
        };
        let text = fqdn(&[entry, zombie], GetFormat::Table, 1_030_000).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ENDPOINT"), "{text}");
        assert!(
            lines[1].contains(" 30 ") && lines[1].contains("1970-01-01T00:17:40Z"),
            "{text}"
        );
        assert!(lines[2].contains("0 (zombie)"), "{text}");
        let json: serde_json::Value =
            serde_json::from_str(&fqdn(&[], GetFormat::Json, 0).unwrap()).unwrap();
        assert_eq!(json, serde_json::json!([]));
    }
}
