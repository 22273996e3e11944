//! The flow messages read in place ([`crate::fast_json::in_place`]): those with strings
//! or repeated fields, which pbjson would allocate for every line. Each list mirrors the
//! generated pbjson visitor of the message: every JSON name it accepts, and how it reads
//! the field. Messages without strings (layer 4, event type, loss reports) and rare ones
//! (layer 7, tunnels, trace context) are read by their pbjson impls (`leaf`).

use observe_proto::flow::{
    Attribution, AuthType, DebugCapturePoint, DropReason, Endpoint, Ethernet, FileInfo, Flow,
    FlowType, Ip, IpVersion, NetworkInterface, Policy, PolicyRule, PolicyVerdictKind, Service,
    SocketTranslationPoint, TraceObservationPoint, TraceReason, TrafficDirection, Verdict,
};

use crate::fast_json::in_place::in_place;

in_place! {
    Flow {
        time: leaf = "time";
        uuid: string = "uuid";
        emitter: leaf = "emitter";
        verdict: enumeration<Verdict> = "verdict";
        drop_reason: number = "dropReason" | "drop_reason";
        auth_type: enumeration<AuthType> = "authType" | "auth_type";
        ethernet: message = "ethernet";
        ip: message = "IP";
        l4: leaf = "l4";
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
        event_type: leaf = "eventType" | "event_type";
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
