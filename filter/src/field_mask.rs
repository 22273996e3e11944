//! `GetFlowsRequest.field_mask`: send only the requested fields of each flow.
//!
//! Paths use the proto field names, as Hubble's CLI sends them: `time`, `verdict`, `IP`,
//! `l4`, `Summary`, `source.pod_name`, `l4.TCP`. Whole top-level fields can be named, and
//! single fields of the endpoint, IP, Ethernet, event type, service, interface, L4 and
//! attribution messages. Unknown paths are rejected when the request starts, so a typo
//! does not silently empty every flow. The agent applies it to GetFlows responses and
//! exported flows, the CLI to replayed ones (`--input-file`): one mask, one set of paths.

use observe_proto::flow::{
    Attribution, CiliumEventType, Endpoint, Ethernet, Flow, Ip, Layer4, NetworkInterface, Service,
    layer4,
};

/// Copies one path from a source flow into the masked flow.
type Copier = Box<dyn Fn(&Flow, &mut Flow) + Send + Sync>;

/// A path no flow field answers to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown field mask path {path:?}")]
pub struct FieldMaskError {
    /// The path as given.
    pub path: String,
}

/// A compiled field mask.
pub struct FieldMask {
    copiers: Vec<Copier>,
}

impl std::fmt::Debug for FieldMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldMask")
            .field("paths", &self.copiers.len())
            .finish()
    }
}

impl FieldMask {
    /// Compiles `paths`; an empty list means "every field" and gives `None`.
    ///
    /// # Errors
    ///
    /// [`FieldMaskError`] for the first path that names no field.
    pub fn new(paths: &[String]) -> Result<Option<Self>, FieldMaskError> {
        if paths.is_empty() {
            return Ok(None);
        }
        let copiers = paths.iter().map(|p| compile(p)).collect::<Result<_, _>>()?;
        Ok(Some(Self { copiers }))
    }

    /// A flow holding only the masked fields of `flow`.
    pub fn apply(&self, flow: &Flow) -> Flow {
        let mut out = Flow::default();
        for copy in &self.copiers {
            copy(flow, &mut out);
        }
        out
    }
}

fn compile(path: &str) -> Result<Copier, FieldMaskError> {
    let unknown = || FieldMaskError {
        path: path.to_string(),
    };
    let Some((head, sub)) = path.split_once('.') else {
        return Ok(Box::new(find(FLOW_FIELDS, path).ok_or_else(unknown)?));
    };
    Ok(match head {
        "source" => nested(
            |f| f.source.as_ref(),
            |f| &mut f.source,
            find(ENDPOINT, sub).ok_or_else(unknown)?,
        ),
        "destination" => nested(
            |f| f.destination.as_ref(),
            |f| &mut f.destination,
            find(ENDPOINT, sub).ok_or_else(unknown)?,
        ),
        "IP" => nested(
            |f| f.ip.as_ref(),
            |f| &mut f.ip,
            find(IP, sub).ok_or_else(unknown)?,
        ),
        "ethernet" => nested(
            |f| f.ethernet.as_ref(),
            |f| &mut f.ethernet,
            find(ETHERNET, sub).ok_or_else(unknown)?,
        ),
        "event_type" => nested(
            |f| f.event_type.as_ref(),
            |f| &mut f.event_type,
            find(EVENT_TYPE, sub).ok_or_else(unknown)?,
        ),
        "source_service" => nested(
            |f| f.source_service.as_ref(),
            |f| &mut f.source_service,
            find(SERVICE, sub).ok_or_else(unknown)?,
        ),
        "destination_service" => nested(
            |f| f.destination_service.as_ref(),
            |f| &mut f.destination_service,
            find(SERVICE, sub).ok_or_else(unknown)?,
        ),
        "interface" => nested(
            |f| f.interface.as_ref(),
            |f| &mut f.interface,
            find(INTERFACE, sub).ok_or_else(unknown)?,
        ),
        "l4" => l4_variant(find(L4, sub).ok_or_else(unknown)?),
        "attribution" => nested(
            |f| f.attribution.as_ref(),
            |f| &mut f.attribution,
            find(ATTRIBUTION, sub).ok_or_else(unknown)?,
        ),
        _ => return Err(unknown()),
    })
}

/// The copier of field `name` in `table`.
fn find<M>(table: Fields<M>, name: &str) -> Option<fn(&M, &mut M)> {
    table.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Copies one field of a sub-message, creating the sub-message in the output.
fn nested<M: Default + 'static>(
    get: fn(&Flow) -> Option<&M>,
    get_mut: fn(&mut Flow) -> &mut Option<M>,
    copy: fn(&M, &mut M),
) -> Copier {
    Box::new(move |src, dst| {
        if let Some(m) = get(src) {
            copy(m, get_mut(dst).get_or_insert_with(M::default));
        }
    })
}

/// Copies one variant of the L4 oneof; unlike other sub-messages, the output gets no
/// empty `l4` when the flow has another protocol.
fn l4_variant(copy: fn(&Layer4, &mut Layer4)) -> Copier {
    Box::new(move |src, dst| {
        if let Some(l4) = &src.l4 {
            let mut out = dst.l4.take().unwrap_or_default();
            copy(l4, &mut out);
            dst.l4 = out.protocol.is_some().then_some(out);
        }
    })
}

type Fields<M> = &'static [(&'static str, fn(&M, &mut M))];

#[allow(
    deprecated,
    reason = "Hubble's deprecated fields can still be requested"
)]
const FLOW_FIELDS: Fields<Flow> = &[
    ("time", |s, d| d.time = s.time),
    ("uuid", |s, d| d.uuid.clone_from(&s.uuid)),
    ("emitter", |s, d| d.emitter.clone_from(&s.emitter)),
    ("verdict", |s, d| d.verdict = s.verdict),
    ("drop_reason", |s, d| d.drop_reason = s.drop_reason),
    ("auth_type", |s, d| d.auth_type = s.auth_type),
    ("ethernet", |s, d| d.ethernet.clone_from(&s.ethernet)),
    ("IP", |s, d| d.ip.clone_from(&s.ip)),
    ("l4", |s, d| d.l4.clone_from(&s.l4)),
    ("tunnel", |s, d| d.tunnel.clone_from(&s.tunnel)),
    ("source", |s, d| d.source.clone_from(&s.source)),
    ("destination", |s, d| {
        d.destination.clone_from(&s.destination)
    }),
    ("Type", |s, d| d.r#type = s.r#type),
    ("node_name", |s, d| d.node_name.clone_from(&s.node_name)),
    ("node_labels", |s, d| {
        d.node_labels.clone_from(&s.node_labels)
    }),
    ("source_names", |s, d| {
        d.source_names.clone_from(&s.source_names)
    }),
    ("destination_names", |s, d| {
        d.destination_names.clone_from(&s.destination_names)
    }),
    ("l7", |s, d| d.l7.clone_from(&s.l7)),
    ("reply", |s, d| d.reply = s.reply),
    ("event_type", |s, d| d.event_type = s.event_type),
    ("source_service", |s, d| {
        d.source_service.clone_from(&s.source_service)
    }),
    ("destination_service", |s, d| {
        d.destination_service.clone_from(&s.destination_service)
    }),
    ("traffic_direction", |s, d| {
        d.traffic_direction = s.traffic_direction
    }),
    ("policy_match_type", |s, d| {
        d.policy_match_type = s.policy_match_type
    }),
    ("trace_observation_point", |s, d| {
        d.trace_observation_point = s.trace_observation_point
    }),
    ("trace_reason", |s, d| d.trace_reason = s.trace_reason),
    ("file", |s, d| d.file.clone_from(&s.file)),
    ("ip_trace_id", |s, d| d.ip_trace_id = s.ip_trace_id),
    ("drop_reason_desc", |s, d| {
        d.drop_reason_desc = s.drop_reason_desc
    }),
    ("is_reply", |s, d| d.is_reply = s.is_reply),
    ("debug_capture_point", |s, d| {
        d.debug_capture_point = s.debug_capture_point
    }),
    ("interface", |s, d| d.interface.clone_from(&s.interface)),
    ("proxy_port", |s, d| d.proxy_port = s.proxy_port),
    ("trace_context", |s, d| {
        d.trace_context.clone_from(&s.trace_context)
    }),
    ("sock_xlate_point", |s, d| {
        d.sock_xlate_point = s.sock_xlate_point
    }),
    ("socket_cookie", |s, d| d.socket_cookie = s.socket_cookie),
    ("cgroup_id", |s, d| d.cgroup_id = s.cgroup_id),
    ("Summary", |s, d| d.summary.clone_from(&s.summary)),
    ("extensions", |s, d| d.extensions.clone_from(&s.extensions)),
    ("egress_allowed_by", |s, d| {
        d.egress_allowed_by.clone_from(&s.egress_allowed_by)
    }),
    ("ingress_allowed_by", |s, d| {
        d.ingress_allowed_by.clone_from(&s.ingress_allowed_by)
    }),
    ("egress_denied_by", |s, d| {
        d.egress_denied_by.clone_from(&s.egress_denied_by)
    }),
    ("ingress_denied_by", |s, d| {
        d.ingress_denied_by.clone_from(&s.ingress_denied_by)
    }),
    ("policy_log", |s, d| d.policy_log.clone_from(&s.policy_log)),
    ("aggregate", |s, d| d.aggregate = s.aggregate),
    ("attribution", |s, d| {
        d.attribution.clone_from(&s.attribution)
    }),
];

const ENDPOINT: Fields<Endpoint> = &[
    ("ID", |s, d| d.id = s.id),
    ("identity", |s, d| d.identity = s.identity),
    ("cluster_name", |s, d| {
        d.cluster_name.clone_from(&s.cluster_name)
    }),
    ("namespace", |s, d| d.namespace.clone_from(&s.namespace)),
    ("labels", |s, d| d.labels.clone_from(&s.labels)),
    ("pod_name", |s, d| d.pod_name.clone_from(&s.pod_name)),
    ("workloads", |s, d| d.workloads.clone_from(&s.workloads)),
];

const IP: Fields<Ip> = &[
    ("source", |s, d| d.source.clone_from(&s.source)),
    ("source_xlated", |s, d| {
        d.source_xlated.clone_from(&s.source_xlated)
    }),
    ("destination", |s, d| {
        d.destination.clone_from(&s.destination)
    }),
    ("ipVersion", |s, d| d.ip_version = s.ip_version),
    ("encrypted", |s, d| d.encrypted = s.encrypted),
];

const ETHERNET: Fields<Ethernet> = &[
    ("source", |s, d| d.source.clone_from(&s.source)),
    ("destination", |s, d| {
        d.destination.clone_from(&s.destination)
    }),
];

const EVENT_TYPE: Fields<CiliumEventType> = &[
    ("type", |s, d| d.r#type = s.r#type),
    ("sub_type", |s, d| d.sub_type = s.sub_type),
];

const SERVICE: Fields<Service> = &[
    ("name", |s, d| d.name.clone_from(&s.name)),
    ("namespace", |s, d| d.namespace.clone_from(&s.namespace)),
];

const INTERFACE: Fields<NetworkInterface> = &[
    ("index", |s, d| d.index = s.index),
    ("name", |s, d| d.name.clone_from(&s.name)),
];

/// A variant of the L4 oneof: copied only when the flow has that protocol.
macro_rules! l4_variant {
    ($name:literal, $variant:ident) => {
        ($name, |s: &Layer4, d: &mut Layer4| {
            if let Some(p @ layer4::Protocol::$variant(_)) = &s.protocol {
                d.protocol = Some(p.clone());
            }
        })
    };
}

const L4: Fields<Layer4> = &[
    l4_variant!("TCP", Tcp),
    l4_variant!("UDP", Udp),
    l4_variant!("ICMPv4", IcmPv4),
    l4_variant!("ICMPv6", IcmPv6),
    l4_variant!("SCTP", Sctp),
    l4_variant!("VRRP", Vrrp),
    l4_variant!("IGMP", Igmp),
];

const ATTRIBUTION: Fields<Attribution> = &[
    ("kind", |s, d| d.kind = s.kind),
    ("direction", |s, d| d.direction = s.direction),
    ("rules", |s, d| d.rules.clone_from(&s.rules)),
    ("selecting_policies", |s, d| {
        d.selecting_policies.clone_from(&s.selecting_policies)
    }),
];

#[cfg(test)]
mod tests {
    use super::*;
    use observe_proto::Timestamp;
    use observe_proto::flow::{Tcp, Udp, Verdict};

    fn flow() -> Flow {
        Flow {
            time: Some(Timestamp {
                seconds: 5,
                nanos: 0,
            }),
            verdict: Verdict::Dropped.into(),
            uuid: "u".into(),
            source: Some(Endpoint {
                identity: 7,
                namespace: "default".into(),
                pod_name: "web".into(),
                labels: vec!["k8s:app=web".into()],
                ..Default::default()
            }),
            l4: Some(Layer4 {
                protocol: Some(layer4::Protocol::Tcp(Tcp::default())),
            }),
            ..Default::default()
        }
    }

    fn paths(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn copies_only_masked_fields() {
        let mask = FieldMask::new(&paths(&[
            "time",
            "verdict",
            "source.pod_name",
            "source.identity",
        ]))
        .unwrap()
        .unwrap();
        let masked = mask.apply(&flow());
        assert_eq!(masked.time, flow().time);
        assert_eq!(masked.verdict(), Verdict::Dropped);
        assert_eq!(masked.uuid, "");
        let source = masked.source.unwrap();
        assert_eq!((source.pod_name.as_str(), source.identity), ("web", 7));
        assert!(source.labels.is_empty() && source.namespace.is_empty());
        assert_eq!(masked.l4, None);
    }

    #[test]
    fn oneof_variants_copy_only_when_present() {
        let tcp = FieldMask::new(&paths(&["l4.TCP"])).unwrap().unwrap();
        assert_eq!(tcp.apply(&flow()).l4, flow().l4);
        let udp = FieldMask::new(&paths(&["l4.UDP"])).unwrap().unwrap();
        assert_eq!(udp.apply(&flow()).l4, None);
        let mut with_udp = flow();
        with_udp.l4 = Some(Layer4 {
            protocol: Some(layer4::Protocol::Udp(Udp::default())),
        });
        assert_eq!(udp.apply(&with_udp).l4, with_udp.l4);
    }

    /// The test of the CLI's replay mask, which this one replaced.
    #[test]
    fn keeps_only_the_named_paths() {
        let flow = Flow {
            uuid: "u".into(),
            verdict: Verdict::Dropped.into(),
            source: Some(Endpoint {
                pod_name: "web".into(),
                namespace: "shop".into(),
                identity: 7,
                ..Default::default()
            }),
            ..Default::default()
        };
        let mask = FieldMask::new(&paths(&["verdict", "source.pod_name"]))
            .unwrap()
            .unwrap();
        let masked = mask.apply(&flow);
        assert_eq!(masked.verdict(), Verdict::Dropped);
        assert_eq!(masked.uuid, "");
        let source = masked.source.unwrap();
        assert_eq!((source.pod_name.as_str(), source.identity), ("web", 0));
        assert!(FieldMask::new(&paths(&["pod"])).is_err());
    }

    #[test]
    fn empty_masks_mean_everything_and_unknown_paths_fail() {
        assert!(FieldMask::new(&[]).unwrap().is_none());
        for bad in ["ip", "source.podName", "time.seconds", "nope", "l7.http"] {
            let err = FieldMask::new(&paths(&[bad])).err().unwrap();
            assert!(err.to_string().contains(bad), "{err}");
        }
    }
}
