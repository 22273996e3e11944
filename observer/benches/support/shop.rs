//! The benchmarks' cluster: 64 pods of 8 apps in namespace shop, where app N takes app
//! N+1 on TCP 8000-8099, and the datapath events of connections between them.

use std::net::Ipv4Addr;
use std::time::SystemTime;

use observer::event::{MonitorEvent, Payload};
use probe_common::direction;
use probe_common::event::FlowEvent;

/// Pods in the cluster.
pub const PODS: u32 = 64;

/// Address of pod `n`.
pub fn pod_ip(n: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, (n / 250) as u8, (n % 250 + 1) as u8)
}

/// The namespace, the pods, and app N's ingress policy with the ports `ports_of(N)` (a
/// `toPorts` port list entry).
#[allow(dead_code, reason = "not every benchmark applies manifests")]
pub fn manifests(ports_of: impl Fn(u32) -> &'static str) -> String {
    let mut out = String::from("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");
    for n in 0..PODS {
        out.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: pod-{n}, namespace: shop, labels: {{app: app-{}}}}}\nstatus: {{podIP: {}}}\n",
            n % 8,
            pod_ip(n)
        ));
    }
    for app in 0..8 {
        out.push_str(&app_policy(app, ports_of(app)));
    }
    out
}

/// App `app`'s ingress policy: app `app + 1` on `ports`.
#[allow(dead_code, reason = "not every benchmark applies manifests")]
pub fn app_policy(app: u32, ports: &str) -> String {
    format!(
        "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: app-{app}-ingress, namespace: shop}}\nspec:\n  endpointSelector: {{matchLabels: {{app: app-{app}}}}}\n  ingress:\n  - fromEndpoints: [{{matchLabels: {{app: app-{}}}}}]\n    toPorts: [{{ports: [{ports}]}}]\n",
        (app + 1) % 8
    )
}

/// The objects of manifest `text` (the benchmarks that apply manifests need the agent).
#[cfg(feature = "agent")]
#[allow(dead_code, reason = "not every benchmark applies manifests")]
pub fn objects(text: &str) -> Vec<enforcer::manifest::Object> {
    let input = enforcer::manifest::Input {
        name: "bench.yaml".into(),
        text: text.into(),
    };
    let parsed = enforcer::manifest::parse(&[input]).expect("manifests");
    parsed.into_objects()
}

/// Event `n`: a packet of a TCP connection from pod `n % 64` to pod `(n / 7) % 64`, seen
/// at the destination's ingress (endpoint id = pod + 1), a SYN from a port of its own;
/// `event` fills in the kind, the ports, the identities and the rest, given the two pods.
pub fn connection(n: u64, event: impl FnOnce(&mut FlowEvent, u32, u32)) -> MonitorEvent {
    let src = (n % u64::from(PODS)) as u32;
    let dst = ((n / 7) % u64::from(PODS)) as u32;
    let mut saddr = [0u8; 16];
    saddr[..4].copy_from_slice(&pod_ip(src).octets());
    let mut daddr = [0u8; 16];
    daddr[..4].copy_from_slice(&pod_ip(dst).octets());
    let mut ev = FlowEvent {
        timestamp_ns: 1_000_000 + n * 1_000,
        direction: direction::INGRESS,
        family: 4,
        protocol: 6,
        tcp_flags: 0x02,
        endpoint_id: (dst + 1) as u16,
        sport: 30_000 + (n % 30_000) as u16,
        saddr,
        daddr,
        ..FlowEvent::default()
    };
    event(&mut ev, src, dst);
    MonitorEvent {
        timestamp: SystemTime::now(),
        node_name: "node-1".into(),
        payload: Payload::Flow(ev),
    }
}
