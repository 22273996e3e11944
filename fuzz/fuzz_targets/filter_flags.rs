//! Fuzzes the filter flags: any line of `observe flows` filter flags (the TUI's filter
//! box takes the same) must parse into filters or an error, and whatever parses must
//! compile with the agent's filter code or be refused, and then match flows, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use observe_proto::flow::{Endpoint, Flow, Ip, Verdict};

fn sample_flows() -> Vec<Flow> {
    let endpoint = |id, namespace: &str, pod: &str| Endpoint {
        identity: id,
        namespace: namespace.into(),
        pod_name: pod.into(),
        labels: vec![format!("k8s:app={pod}")],
        ..Default::default()
    };
    vec![
        Flow::default(),
        Flow {
            verdict: Verdict::Dropped.into(),
            ip: Some(Ip {
                source: "10.0.0.1".into(),
                destination: "fd00::2".into(),
                ..Default::default()
            }),
            source: Some(endpoint(1000, "shop", "frontend")),
            destination: Some(endpoint(1001, "shop", "db-0")),
            node_name: "node-1".into(),
            ..Default::default()
        },
    ]
}

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(filters) = observe_flags::parse_filter_line(line) else {
        return;
    };
    let Ok(compiled) = observe_filter::build(&filters.whitelist, &filters.blacklist) else {
        return;
    };
    for flow in sample_flows() {
        let _ = compiled.matches(&flow);
    }
});
