//! The columns every human-readable format shares, as Hubble computes them: source and
//! destination (`ns/pod:port`, a service, DNS names or the address), identities
//! (`(ID:12345)`, `(world)`), the event type (`to-endpoint`, `Policy denied`,
//! `policy-verdict:L3-L4 INGRESS`), the verdict with its policy names, and the summary.

use observe_flags::names::{
    TYPE_CAPTURE, TYPE_DROP, TYPE_POLICY_VERDICT, TYPE_TRACE, TYPE_TRACE_SOCK, is_policy_verdict,
    observation_point_name, reserved_identity_name, verdict_word,
};
use observe_proto::flow::{AuthType, Flow, SocketTranslationPoint, Verdict, layer4, layer7};

use observe_describe::attribution;
use observe_describe::drop_reason::drop_text;

use super::styled::{Color, Styled};

/// Source and destination hosts, colored (host cyan, port yellow).
pub fn hosts(flow: &Flow, numeric: bool) -> (Styled, Styled) {
    let Some(ip) = flow.ip.as_ref() else {
        let (src, dst) = flow
            .ethernet
            .as_ref()
            .map(|e| (e.source.clone(), e.destination.clone()))
            .unwrap_or_default();
        return (cyan(src), cyan(dst));
    };
    let (src_port, dst_port) = ports(flow);
    let src = Host {
        ip: &ip.source,
        port: src_port,
        namespace: flow.source.as_ref().map_or("", |e| &e.namespace),
        pod: flow.source.as_ref().map_or("", |e| &e.pod_name),
        service: flow
            .source_service
            .as_ref()
            .map(|s| (&*s.namespace, &*s.name)),
        names: &flow.source_names,
    };
    let dst = Host {
        ip: &ip.destination,
        port: dst_port,
        namespace: flow.destination.as_ref().map_or("", |e| &e.namespace),
        pod: flow.destination.as_ref().map_or("", |e| &e.pod_name),
        service: flow
            .destination_service
            .as_ref()
            .map(|s| (&*s.namespace, &*s.name)),
        names: &flow.destination_names,
    };
    (src.render(numeric), dst.render(numeric))
}

fn cyan(text: String) -> Styled {
    let mut s = Styled::new();
    s.colored(Color::Cyan, text);
    s
}

/// One end of a flow, as far as its name goes.
struct Host<'a> {
    ip: &'a str,
    port: u32,
    namespace: &'a str,
    pod: &'a str,
    /// (namespace, name) of a service; its namespace replaces the endpoint's.
    service: Option<(&'a str, &'a str)>,
    names: &'a [String],
}

impl Host<'_> {
    /// `ns/pod`, `ns/service`, DNS names or the address (always the address with
    /// `numeric`), then `:port` unless the port is 0 (IPv6 addresses in brackets).
    fn render(&self, numeric: bool) -> Styled {
        let host = if numeric {
            self.ip.to_string()
        } else {
            self.name()
        };
        let mut s = Styled::new();
        if self.port == 0 {
            s.colored(Color::Cyan, host);
        } else if host.contains(':') {
            s.colored(Color::Cyan, format!("[{host}]:"));
            s.colored(Color::Yellow, self.port.to_string());
        } else {
            s.colored(Color::Cyan, format!("{host}:"));
            s.colored(Color::Yellow, self.port.to_string());
        }
        s
    }

    fn name(&self) -> String {
        let namespace = self.service.map_or(self.namespace, |(ns, _)| ns);
        let joined = |name: &str| {
            if namespace.is_empty() {
                name.to_string()
            } else {
                format!("{namespace}/{name}")
            }
        };
        match self.service {
            _ if !self.pod.is_empty() => joined(self.pod),
            Some((_, svc)) if !svc.is_empty() => joined(svc),
            _ if !self.names.is_empty() => self.names.join(","),
            _ => self.ip.to_string(),
        }
    }
}

/// Source and destination ports of TCP, UDP and SCTP flows (0 otherwise).
fn ports(flow: &Flow) -> (u32, u32) {
    match flow.l4.as_ref().and_then(|l4| l4.protocol.as_ref()) {
        Some(layer4::Protocol::Tcp(t)) => (t.source_port, t.destination_port),
        Some(layer4::Protocol::Udp(u)) => (u.source_port, u.destination_port),
        Some(layer4::Protocol::Sctp(s)) => (s.source_port, s.destination_port),
        _ => (0, 0),
    }
}

/// `(ID:12345)`, or `(world)` for reserved identities, magenta.
pub fn identity(identity: u32) -> Styled {
    let text = match reserved_identity_name(identity) {
        Some(name) => format!("({name})"),
        None => format!("(ID:{identity})"),
    };
    let mut s = Styled::new();
    s.colored(Color::Magenta, text);
    s
}

/// Source and destination identities.
pub fn identities(flow: &Flow) -> (Styled, Styled) {
    (
        identity(flow.source.as_ref().map_or(0, |e| e.identity)),
        identity(flow.destination.as_ref().map_or(0, |e| e.identity)),
    )
}

/// The TYPE column: L7 record kind, observation point, drop text or policy verdict.
pub fn flow_type(flow: &Flow) -> String {
    if let Some(l7) = flow.l7.as_ref() {
        return l7_type(l7);
    }
    let event = flow.event_type.unwrap_or_default();
    match event.r#type {
        TYPE_TRACE => observation_point_name(event.sub_type)
            .map_or_else(|| event.sub_type.to_string(), str::to_string),
        TYPE_DROP => drop_text(u32::try_from(event.sub_type).unwrap_or(0)),
        TYPE_POLICY_VERDICT => format!(
            "policy-verdict:{} {}",
            match_type(flow.policy_match_type),
            flow.traffic_direction().as_str_name()
        ),
        TYPE_CAPTURE => flow.debug_capture_point().as_str_name().to_string(),
        TYPE_TRACE_SOCK => sock_xlate(flow.sock_xlate_point()),
        _ => "UNKNOWN".into(),
    }
}

fn l7_type(l7: &observe_proto::flow::Layer7) -> String {
    let kind = l7.r#type().as_str_name().to_ascii_lowercase();
    match l7.record.as_ref() {
        Some(layer7::Record::Http(_)) => format!("http-{kind}"),
        Some(layer7::Record::Dns(dns)) => format!("dns-{kind} {}", dns.observation_source),
        #[allow(deprecated, reason = "Hubble still prints Kafka records")]
        Some(layer7::Record::Kafka(_)) => format!("kafka-{kind}"),
        None => format!("l7-{kind}"),
    }
}

/// Which part of a policy entry matched, as the monitor names it.
fn match_type(value: u32) -> &'static str {
    u8::try_from(value)
        .ok()
        .and_then(probe_common::policy::match_type::name)
        .unwrap_or("unknown")
}

fn sock_xlate(point: SocketTranslationPoint) -> String {
    match point {
        SocketTranslationPoint::SockXlatePointPreDirectionFwd => "pre-xlate-fwd".into(),
        SocketTranslationPoint::SockXlatePointPostDirectionFwd => "post-xlate-fwd".into(),
        SocketTranslationPoint::SockXlatePointPreDirectionRev => "pre-xlate-rev".into(),
        SocketTranslationPoint::SockXlatePointPostDirectionRev => "post-xlate-rev".into(),
        other => other.as_str_name().into(),
    }
}

/// The VERDICT column: the verdict word (ALLOWED/DENIED/AUDITED for policy verdicts),
/// colored, then `BY name (Kind)` on policy-verdict lines when `policy_names`, then for
/// drops the policy attribution (always).
pub fn verdict(flow: &Flow, policy_names: bool) -> Styled {
    let is_policy_verdict = is_policy_verdict(flow);
    let color = match flow.verdict() {
        Verdict::Forwarded | Verdict::Redirected => Color::Green,
        Verdict::Dropped | Verdict::Error => Color::Red,
        Verdict::Audit | Verdict::Traced | Verdict::Translated => Color::Yellow,
        _ => Color::Plain,
    };
    let mut s = Styled::new();
    s.colored(color, verdict_word(flow));
    if policy_names && is_policy_verdict && flow.verdict() != Verdict::Dropped {
        s.plain(attribution::policy_names(flow));
    }
    if let Some(text) = attribution::drop_attribution(flow) {
        s.plain(format!(" {text}"));
    }
    s
}

/// The SUMMARY column: `IP Trace ID: n; ` prefix, the flow's summary, `; SPIRE` suffix
/// when the policy required authentication.
pub fn summary(flow: &Flow) -> Styled {
    let mut s = Styled::new();
    if let Some(trace) = flow.ip_trace_id.as_ref().filter(|t| t.trace_id > 0) {
        s.plain(format!("IP Trace ID: {}; ", trace.trace_id));
    }
    #[allow(deprecated, reason = "Summary is what Hubble prints")]
    s.plain(flow.summary.clone());
    match flow.auth_type() {
        AuthType::Disabled => {}
        AuthType::TestAlwaysFail => {
            s.plain("; ").colored(Color::Red, "TEST_ALWAYS_FAIL");
        }
        other => {
            s.plain("; ").colored(Color::Green, other.as_str_name());
        }
    }
    s
}
