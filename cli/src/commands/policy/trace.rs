//! `observe policy trace`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use enforcer::engine::trace::{Target, Trace, TraceRequest};
use enforcer::fqdn::NamePattern;
use enforcer::policy::http::Request;
use enforcer::policy::ports::{
    ICMP, ICMPV6, IGMP, SCTP, TCP, UDP, VRRP, is_portless, parse_protocol_name, protocol_name,
};

use crate::args::{Format, GlobalArgs, ManifestArgs, TraceArgs};
use crate::{connect, manifests, output};

/// Runs the trace (offline with `-f`, else against the agent) and prints it.
pub fn run(global: &GlobalArgs, args: &TraceArgs) -> Result<ExitCode> {
    let request = request(args)?;
    let trace = if args.files.is_empty() {
        live(global, args, &request)?
    } else {
        let manifests = ManifestArgs {
            files: args.files.clone(),
            cluster_name: args.cluster_name.clone(),
        };
        let engine = manifests::engine(&manifests)?;
        match (&args.dns_name, http_request(args)?) {
            (_, Some(http)) => engine.trace_http(&request, &http)?,
            (Some(name), None) => engine.trace_dns(&request, name)?,
            (None, None) => engine.trace(&request)?,
        }
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", output::trace::to_json(&trace)?)?,
        Format::Text => write!(out, "{}", output::trace::to_text(&trace))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks the agent to trace the flow.
fn live(global: &GlobalArgs, args: &TraceArgs, request: &TraceRequest) -> Result<Trace> {
    use observe_proto::control::control_client::ControlClient;
    let req = observe_proto::control::TraceRequest {
        from: args.from.clone(),
        to: args.to.clone(),
        protocol: u32::from(request.protocol),
        dport: u32::from(request.dport),
        reply: request.reply,
        dns_name: args.dns_name.clone().unwrap_or_default(),
        http_method: args.http_method.clone().unwrap_or_default(),
        http_path: args.http_path.clone().unwrap_or_default(),
        http_headers: args.http_header.clone(),
    };
    connect::block_on(async {
        let mut client = ControlClient::new(connect::channel(global).await?);
        let resp = client
            .trace(connect::request(global, req))
            .await
            .map_err(|s| {
                connect::timed_out(&s, global).unwrap_or_else(|| anyhow::anyhow!("{}", s.message()))
            })?
            .into_inner();
        serde_json::from_str(&resp.json).context("the agent sent a trace this client cannot read")
    })
}

fn request(args: &TraceArgs) -> Result<TraceRequest> {
    let protocol = parse_protocol_name(&args.protocol)
        .filter(|p| [TCP, UDP, SCTP, ICMP, ICMPV6, VRRP, IGMP].contains(p))
        .with_context(|| {
            format!(
                "invalid --protocol {:?}: expected TCP, UDP, SCTP, ICMP, ICMPv6, VRRP or IGMP",
                args.protocol
            )
        })?;
    let icmp = protocol == ICMP || protocol == ICMPV6;
    if icmp && args.dport != 0 {
        bail!(
            "--dport does not apply to {}: use --icmp-type",
            args.protocol
        );
    }
    if is_portless(protocol) && args.dport != 0 {
        bail!(
            "--dport does not apply to {}: it has no ports",
            protocol_name(protocol)
        );
    }
    if !icmp && args.icmp_type.is_some() {
        bail!("--icmp-type only applies to ICMP and ICMPv6");
    }
    let dport = match (icmp, args.icmp_type) {
        (true, Some(t)) => u16::from(t),
        (true, None) if protocol == ICMPV6 => 128,
        (true, None) => 8,
        (false, _) => args.dport,
    };
    if let Some(name) = &args.dns_name {
        NamePattern::name(name).map_err(|e| anyhow::anyhow!("invalid --dns-name {name:?}: {e}"))?;
    }
    if args.http_method.is_some() && protocol != TCP {
        bail!("--http-method applies to TCP flows only");
    }
    http_request(args)?;
    Ok(TraceRequest {
        from: target(&args.from, "--from")?,
        to: target(&args.to, "--to")?,
        protocol,
        dport,
        reply: args.reply,
    })
}

/// The HTTP request of `--http-*`, when there is one.
pub fn http_request(args: &TraceArgs) -> Result<Option<Request>> {
    let Some(method) = &args.http_method else {
        return Ok(None);
    };
    let request = Request::from_parts(
        method,
        args.http_path.as_deref().unwrap_or("/"),
        &args.http_header,
    )
    .map_err(|e| anyhow::anyhow!("invalid --http-*: {e}"))?;
    Ok(Some(request))
}

/// Parses `NAMESPACE/POD`, `node/NAME` or an IP address.
pub fn target(s: &str, flag: &str) -> Result<Target> {
    Target::parse(s).map_err(|e| anyhow::anyhow!("invalid {flag}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use enforcer::cluster::PodKey;

    #[test]
    fn targets_parse() {
        assert_eq!(
            target("shop/web", "--from").unwrap(),
            Target::Pod(PodKey::new("shop", "web"))
        );
        assert_eq!(
            target("web", "--from").unwrap(),
            Target::Pod(PodKey::new("default", "web"))
        );
        assert_eq!(
            target("node/n1", "--from").unwrap(),
            Target::Node("n1".into())
        );
        assert_eq!(
            target("2001:db8::1", "--from").unwrap(),
            Target::Ip("2001:db8::1".parse().unwrap())
        );
        assert!(target("a/b/c", "--from").is_err());
        assert!(target("/x", "--from").is_err());
    }

    #[test]
    fn workload_and_pod_references_parse_with_an_optional_namespace() {
        use enforcer::cluster::{WorkloadKind, WorkloadRef};
        let w = |kind, ns: &str, name: &str| {
            Target::Workload(WorkloadRef {
                kind,
                namespace: ns.into(),
                name: name.into(),
            })
        };
        assert_eq!(
            target("deployment/leia", "--from").unwrap(),
            w(WorkloadKind::Deployment, "default", "leia")
        );
        assert_eq!(
            target("rebels/sts/leia", "--to").unwrap(),
            w(WorkloadKind::StatefulSet, "rebels", "leia")
        );
        for (word, kind) in [
            ("daemonset", WorkloadKind::DaemonSet),
            ("replicaset", WorkloadKind::ReplicaSet),
            ("job", WorkloadKind::Job),
            ("cronjob", WorkloadKind::CronJob),
        ] {
            assert_eq!(
                target(&format!("ns/{word}/x"), "--to").unwrap(),
                w(kind, "ns", "x")
            );
        }
        assert_eq!(
            target("pod/xwing", "--from").unwrap(),
            Target::Pod(PodKey::new("default", "xwing"))
        );
        assert_eq!(
            target("deployment/pod/web", "--from").unwrap(),
            Target::Pod(PodKey::new("deployment", "web"))
        );
        let err = target("ns/widget/x", "--from").unwrap_err().to_string();
        assert!(err.contains("[NAMESPACE/]KIND/NAME"), "{err}");
    }
}
