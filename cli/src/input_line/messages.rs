//! The flow messages read in place ([`crate::fast_json::in_place`]): those with strings
//! or repeated fields, which pbjson would allocate for every line, and the small ones of
//! every flow (ports, TCP flags, event type), which its generic reading makes slow. Each
//! list mirrors the generated pbjson visitor of the message: every JSON name it accepts,
//! and how it reads the field. Rare messages (layer 7, tunnels, trace context, loss
//! reports) are read by their pbjson impls (`leaf`). Layer 4, a oneof, is [`super::layer4`].

use observe_proto::flow::{
    Attribution, AuthType, CiliumEventType, DebugCapturePoint, DropReason, Endpoint, Ethernet,
    FileInfo, Flow, FlowType, IcmPv4, IcmPv6, Ip, IpVersion, NetworkInterface, Policy, PolicyRule,
    PolicyVerdictKind, Sctp, Service, SocketTranslationPoint, Tcp, TcpFlags, TraceObservationPoint,
    TraceReason, TrafficDirection, Udp, Verdict,
};

use crate::fast_json::in_place::in_place;

in_place! {
    Flow {
        time: timestamp = "time";
        uuid: string = "uuid";
        emitter: leaf = "emitter";
        verdict: enumeration<Verdict> = "verdict";
        drop_reason: number = "dropReason" | "drop_reason";
        auth_type: enumeration<AuthType> = "authType" | "auth_type";
        ethernet: message = "ethernet";
        ip: message = "IP";
        l4: message = "l4";
        tunnel: leaf = "tunnel";
        source: message = "source";
        destination: message = "destination";
        r#type: enumeration<FlowType> = "Type";
        node_name: string = "nodeName" | "node_name";
        node_labels: strings = "nodeLabels" | "node_labels";
        source_names: strings = "sourceNames" | "source_names";
        destination_names: strings = "destinationNames" | "destination_names";
        l7: leaf = "l7";
        reply: value = "reply";
        event_type: message = "eventType" | "event_type";
        source_service: message = "sourceService" | "source_service";
        destination_service: message = "destinationService" | "destination_service";
        traffic_direction: enumeration<TrafficDirection> = "trafficDirection" | "traffic_direction";
        policy_match_type: number = "policyMatchType" | "policy_match_type";
        trace_observation_point: enumeration<TraceObservationPoint> =
            "traceObservationPoint" | "trace_observation_point";
        trace_reason: enumeration<TraceReason> = "traceReason" | "trace_reason";
        file: message = "file";
        ip_trace_id: leaf = "ipTraceId" | "ip_trace_id";
        drop_reason_desc: enumeration<DropReason> = "dropReasonDesc" | "drop_reason_desc";
        is_reply: leaf = "isReply" | "is_reply";
        debug_capture_point: enumeration<DebugCapturePoint> =
            "debugCapturePoint" | "debug_capture_point";
        interface: message = "interface";
        proxy_port: number = "proxyPort" | "proxy_port";
        trace_context: leaf = "traceContext" | "trace_context";
        sock_xlate_point: enumeration<SocketTranslationPoint> =
            "sockXlatePoint" | "sock_xlate_point";
        socket_cookie: number = "socketCookie" | "socket_cookie";
        cgroup_id: number = "cgroupId" | "cgroup_id";
        summary: string = "Summary";
        extensions: leaf = "extensions";
        egress_allowed_by: messages = "egressAllowedBy" | "egress_allowed_by";
        ingress_allowed_by: messages = "ingressAllowedBy" | "ingress_allowed_by";
        egress_denied_by: messages = "egressDeniedBy" | "egress_denied_by";
        ingress_denied_by: messages = "ingressDeniedBy" | "ingress_denied_by";
        policy_log: strings = "policyLog" | "policy_log";
        aggregate: leaf = "aggregate";
        attribution: message = "attribution";
    }
}

in_place! {
    Endpoint {
        id: number = "ID";
        identity: number = "identity";
        cluster_name: string = "clusterName" | "cluster_name";
        namespace: string = "namespace";
        labels: strings = "labels";
        pod_name: string = "podName" | "pod_name";
        workloads: value = "workloads";
    }
}

in_place! {
    Ip {
        source: string = "source";
        source_xlated: string = "sourceXlated" | "source_xlated";
        destination: string = "destination";
        ip_version: enumeration<IpVersion> = "ipVersion";
        encrypted: value = "encrypted";
    }
}

in_place! {
    Ethernet {
        source: string = "source";
        destination: string = "destination";
    }
}

in_place! {
    Service {
        name: string = "name";
        namespace: string = "namespace";
    }
}

in_place! {
    NetworkInterface {
        index: number = "index";
        name: string = "name";
    }
}

in_place! {
    FileInfo {
        name: string = "name";
        line: number = "line";
    }
}

in_place! {
    Policy {
        name: string = "name";
        namespace: string = "namespace";
        labels: strings = "labels";
        revision: number = "revision";
        kind: string = "kind";
    }
}

in_place! {
    Attribution {
        kind: enumeration<PolicyVerdictKind> = "kind";
        direction: enumeration<TrafficDirection> = "direction";
        rules: messages = "rules";
        selecting_policies: messages = "selectingPolicies" | "selecting_policies";
        closest_rule: leaf = "closestRule" | "closest_rule";
        fqdn_history: leaf = "fqdnHistory" | "fqdn_history";
        l7_rule: string = "l7Rule" | "l7_rule";
    }
}

in_place! {
    PolicyRule {
        kind: string = "kind";
        namespace: string = "namespace";
        name: string = "name";
        path: string = "path";
    }
}

in_place! {
    CiliumEventType {
        r#type: number = "type";
        sub_type: number = "subType" | "sub_type";
    }
}

in_place! {
    Tcp {
        source_port: number = "sourcePort" | "source_port";
        destination_port: number = "destinationPort" | "destination_port";
        flags: message = "flags";
    }
}

in_place! {
    TcpFlags {
        fin: value = "FIN";
        syn: value = "SYN";
        rst: value = "RST";
        psh: value = "PSH";
        ack: value = "ACK";
        urg: value = "URG";
        ece: value = "ECE";
        cwr: value = "CWR";
        ns: value = "NS";
    }
}

in_place! {
    Udp {
        source_port: number = "sourcePort" | "source_port";
        destination_port: number = "destinationPort" | "destination_port";
    }
}

in_place! {
    Sctp {
        source_port: number = "sourcePort" | "source_port";
        destination_port: number = "destinationPort" | "destination_port";
    }
}

in_place! {
    IcmPv4 {
        r#type: number = "type";
        code: number = "code";
    }
}

in_place! {
    IcmPv6 {
        r#type: number = "type";
        code: number = "code";
    }
}
