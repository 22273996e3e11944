//! The columns every human-readable format shares, as Hubble computes them: source and
//! destination (`ns/pod:port`, a service, DNS names or the address), identities
//! (`(ID:12345)`, `(world)`), the event type (`to-endpoint`, `Policy denied`,
//! `policy-verdict:L3-L4 INGRESS`), the verdict with its policy names, and the summary.

use observe_flags::names::{
    TYPE_CAPTURE, TYPE_DROP, TYPE_POLICY_VERDICT, TYPE_TRACE, TYPE_TRACE_SOCK, is_policy_verdict,
    observation_point_name, reserved_identity_name, verdict_word,
};
use std::fmt::Write as _;

use observe_proto::flow::{AuthType, Flow, SocketTranslationPoint, Verdict, layer4, layer7};

use observe_describe::attribution;
use observe_describe::drop_reason::drop_text;

use super::styled::{Color, Styled};

/// Which end of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The sender.
    Source,
    /// The receiver.
    Destination,
}

/// Source and destination hosts, colored (host cyan, port yellow).
pub fn hosts(flow: &Flow, numeric: bool) -> (Styled, Styled) {
    let mut src = Styled::new();
    let mut dst = Styled::new();
    host_into(&mut src, flow, End::Source, numeric);
    host_into(&mut dst, flow, End::Destination, numeric);
    (src, dst)
}

/// The host of one end appended to `out`: its IP end's name (see [`Host`]), or its MAC
/// address for flows without IP.
pub fn host_into(out: &mut Styled, flow: &Flow, end: End, numeric: bool) {
    let Some(ip) = flow.ip.as_ref() else {
        let mac = flow.ethernet.as_ref().map_or("", |e| match end {
            End::Source => &e.source,
            End::Destination => &e.destination,
        });
        out.colored(Color::Cyan, mac);
        return;
    };
    let (src_port, dst_port) = ports(flow);
    let host = match end {
        End::Source => Host {
            ip: &ip.source,
            port: src_port,
            namespace: flow.source.as_ref().map_or("", |e| &e.namespace),
            pod: flow.source.as_ref().map_or("", |e| &e.pod_name),
            service: flow
                .source_service
                .as_ref()
                .map(|s| (&*s.namespace, &*s.name)),
            names: &flow.source_names,
        },
        End::Destination => Host {
            ip: &ip.destination,
            port: dst_port,
            namespace: flow.destination.as_ref().map_or("", |e| &e.namespace),
            pod: flow.destination.as_ref().map_or("", |e| &e.pod_name),
            service: flow
                .destination_service
                .as_ref()
                .map(|s| (&*s.namespace, &*s.name)),
            names: &flow.destination_names,
        },
    };
    host.render_into(out, numeric);
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
    fn render_into(&self, out: &mut Styled, numeric: bool) {
        out.colored_with(Color::Cyan, |text| {
            let start = text.len();
            if numeric {
                text.push_str(self.ip);
            } else {
                self.name_into(text);
            }
            if self.port != 0 {
                if text[start..].contains(':') {
                    text.insert(start, '[');
                    text.push(']');
                }
                text.push(':');
            }
        });
        if self.port != 0 {
            out.colored_with(Color::Yellow, |text| {
                let _ = write!(text, "{}", self.port);
            });
        }
    }

    fn name_into(&self, out: &mut String) {
        let namespace = self.service.map_or(self.namespace, |(ns, _)| ns);
        let joined = |out: &mut String, name: &str| {
            if !namespace.is_empty() {
                out.push_str(namespace);
                out.push('/');
            }
            out.push_str(name);
        };
        match self.service {
            _ if !self.pod.is_empty() => joined(out, self.pod),
            Some((_, svc)) if !svc.is_empty() => joined(out, svc),
            _ if !self.names.is_empty() => {
                for (i, name) in self.names.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(name);
                }
            }
            _ => out.push_str(self.ip),
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

/// `(ID:12345)`, or `(world)` for reserved identities, magenta, appended to `out`.
pub fn identity_into(out: &mut Styled, identity: u32) {
    out.colored_with(Color::Magenta, |text| {
        let _ = match reserved_identity_name(identity) {
            Some(name) => write!(text, "({name})"),
            None => write!(text, "(ID:{identity})"),
        };
    });
}

/// The identity of one end (0 without endpoint).
pub fn end_identity(flow: &Flow, end: End) -> u32 {
    let endpoint = match end {
        End::Source => flow.source.as_ref(),
        End::Destination => flow.destination.as_ref(),
    };
    endpoint.map_or(0, |e| e.identity)
}

/// The TYPE column: L7 record kind, observation point, drop text or policy verdict.
pub fn flow_type(flow: &Flow) -> String {
    let mut text = String::new();
    flow_type_into(&mut text, flow);
    text
}

/// [`flow_type`] appended to `out`.
pub fn flow_type_into(out: &mut String, flow: &Flow) {
    if let Some(l7) = flow.l7.as_ref() {
        out.push_str(&l7_type(l7));
        return;
    }
    let event = flow.event_type.unwrap_or_default();
    let _ = match event.r#type {
        TYPE_TRACE => match observation_point_name(event.sub_type) {
            Some(name) => out.write_str(name),
            None => write!(out, "{}", event.sub_type),
        },
        TYPE_DROP => out.write_str(&drop_text(u32::try_from(event.sub_type).unwrap_or(0))),
        TYPE_POLICY_VERDICT => write!(
            out,
            "policy-verdict:{} {}",
            match_type(flow.policy_match_type),
            flow.traffic_direction().as_str_name()
        ),
        TYPE_CAPTURE => out.write_str(flow.debug_capture_point().as_str_name()),
        TYPE_TRACE_SOCK => out.write_str(&sock_xlate(flow.sock_xlate_point())),
        _ => out.write_str("UNKNOWN"),
    };
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
    let mut s = Styled::new();
    verdict_into(&mut s, flow, policy_names);
    s
}

/// [`verdict`] appended to `s`.
pub fn verdict_into(s: &mut Styled, flow: &Flow, policy_names: bool) {
    let is_policy_verdict = is_policy_verdict(flow);
    let color = match flow.verdict() {
        Verdict::Forwarded | Verdict::Redirected => Color::Green,
        Verdict::Dropped | Verdict::Error => Color::Red,
        Verdict::Audit | Verdict::Traced | Verdict::Translated => Color::Yellow,
        _ => Color::Plain,
    };
    s.colored(color, verdict_word(flow));
    if policy_names && is_policy_verdict && flow.verdict() != Verdict::Dropped {
        s.plain(attribution::policy_names(flow));
    }
    if let Some(text) = attribution::drop_attribution(flow) {
        s.colored_with(Color::Plain, |out| {
            out.push(' ');
            out.push_str(&text);
        });
    }
}

/// The staged verdict of a new connection while policies are staged (`observe policy
/// stage`), as ` staged: DROPPED (Kind ns/name rule)` (`observe_describe::staged`);
/// nothing without one.
pub fn staged_into(s: &mut Styled, flow: &Flow) {
    let Some((verdict, why)) = observe_describe::staged::staged(flow) else {
        return;
    };
    let color = match verdict {
        Verdict::Forwarded | Verdict::Redirected => Color::Green,
        Verdict::Dropped => Color::Red,
        _ => Color::Yellow,
    };
    s.plain(" staged: ");
    s.colored(color, verdict.as_str_name());
    if !why.is_empty() {
        s.plain(format!(" ({why})"));
    }
}

/// An aggregated connection's counters after the line (` [connection: 120 packets 9.0 kB
/// sent, ...]`, an extension: only flows of `observerd --trace aggregate` have them).
pub fn connection_into(s: &mut Styled, flow: &Flow) {
    if let Some(text) = observe_describe::connection::text(flow) {
        s.plain(format!(" [connection: {text}]"));
    }
}

/// The SUMMARY column: `IP Trace ID: n; ` prefix, the flow's summary, `; SPIRE` suffix
/// when the policy required authentication.
pub fn summary(flow: &Flow) -> Styled {
    let mut s = Styled::new();
    summary_into(&mut s, flow);
    s
}

/// [`summary`] appended to `s`.
pub fn summary_into(s: &mut Styled, flow: &Flow) {
    if let Some(trace) = flow.ip_trace_id.as_ref().filter(|t| t.trace_id > 0) {
        s.colored_with(Color::Plain, |out| {
            let _ = write!(out, "IP Trace ID: {}; ", trace.trace_id);
        });
    }
    #[allow(deprecated, reason = "Summary is what Hubble prints")]
    s.plain(&flow.summary);
    match flow.auth_type() {
        AuthType::Disabled => {}
        AuthType::TestAlwaysFail => {
            s.plain("; ").colored(Color::Red, "TEST_ALWAYS_FAIL");
        }
        other => {
            s.plain("; ").colored(Color::Green, other.as_str_name());
        }
    }
}

#[cfg(test)]
mod staged_tests {
    use observe_proto::flow::{Flow, StagedVerdict, Verdict};

    use super::*;

    #[test]
    fn an_aggregated_connection_ends_the_line_with_its_counters() {
        let mut s = Styled::new();
        connection_into(&mut s, &Flow::default());
        assert_eq!(s.render(false), "");
        let flow = Flow {
            connection: Some(observe_proto::flow::ConnectionCounters {
                forward_packets: 3,
                reply_packets: 2,
                forward_bytes: 180,
                reply_bytes: 2_900,
                ..Default::default()
            }),
            ..Flow::default()
        };
        connection_into(&mut s, &flow);
        assert_eq!(
            s.render(false),
            " [connection: 3 packets 180 B sent, 2 packets 2.9 kB back]"
        );
    }

    #[test]
    fn a_staged_verdict_ends_the_line() {
        let mut s = Styled::new();
        staged_into(&mut s, &Flow::default());
        assert_eq!(s.render(false), "");
        let flow = Flow {
            staged: Some(StagedVerdict {
                verdict: Verdict::Dropped.into(),
                ..StagedVerdict::default()
            }),
            ..Flow::default()
        };
        staged_into(&mut s, &flow);
        assert_eq!(s.render(false), " staged: DROPPED");
    }
}
