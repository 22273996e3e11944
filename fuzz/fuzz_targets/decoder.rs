//! Fuzzes the event decoder: any ring-buffer record, as the kernel reader hands it over,
//! must become a flow or a `ParseError`, with and without enrichment, and every flow must
//! print as JSON, never a panic.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use observer::decode::{BootClock, Decoder};
use observer::event::{MonitorEvent, Payload};
use observer::getters::{
    EndpointInfo, FakeEndpointGetter, FakeIdentityGetter, FakeLinkGetter, FakePolicyGetter,
    PolicyInfo, RuleInfo,
};

/// Getters that know every number, so the enrichment paths run too.
fn enriching(decoder: Decoder) -> Decoder {
    let endpoint = |id: u32| {
        Some(Arc::new(EndpointInfo {
            id,
            identity: id.wrapping_add(1),
            namespace: "fuzz".into(),
            pod_name: format!("pod-{id}"),
            labels: vec!["k8s:app=fuzz".into()],
            node_name: "fuzz-node".into(),
        }))
    };
    let policy = PolicyInfo {
        kind: "CiliumNetworkPolicy".into(),
        namespace: "fuzz".into(),
        name: "allow".into(),
        revision: 1,
    };
    let rule = RuleInfo {
        policy: policy.clone(),
        path: "spec.ingress[0]".into(),
    };
    let selecting = policy.clone();
    decoder
        .with_endpoints(Arc::new(FakeEndpointGetter {
            on_endpoint_by_id: Some(Box::new(endpoint)),
            on_endpoint_by_ip: Some(Box::new(move |ip| endpoint(u32::from(ip.is_ipv4())))),
        }))
        .with_identities(Arc::new(FakeIdentityGetter {
            on_identity_labels: Some(Box::new(|_| Some(Arc::from(["k8s:app=fuzz".to_string()])))),
        }))
        .with_policies(Arc::new(FakePolicyGetter {
            on_rules_by_cookie: Some(Box::new(move |_| vec![rule.clone()])),
            on_selecting_policies: Some(Box::new(move |_| vec![selecting.clone()])),
            on_auditing_policies: Some(Box::new(move |_| vec![policy.clone()])),
        }))
        .with_links(Arc::new(FakeLinkGetter {
            on_link_name: Some(Box::new(|index| Some(format!("lxc{index}")))),
        }))
}

fuzz_target!(|data: &[u8]| {
    // A short record becomes `Payload::Malformed` (a decode error in the pipeline); an
    // event with counters (aggregation mode) is decoded with them.
    let payload = Payload::from_record(data);
    if matches!(payload, Payload::Malformed { .. }) {
        return;
    }
    let event = MonitorEvent {
        timestamp: std::time::SystemTime::UNIX_EPOCH,
        node_name: Arc::from("fuzz-node"),
        payload,
    };
    let plain = Decoder::new(BootClock::unix_epoch());
    for mut decoder in [plain, enriching(Decoder::new(BootClock::unix_epoch()))] {
        if let Ok(flow) = decoder.decode(&event) {
            serde_json::to_string(&flow).expect("a decoded flow prints as JSON");
        }
    }
});
