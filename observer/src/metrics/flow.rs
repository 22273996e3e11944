//! `hubble_flows_processed_total{protocol,type,subtype,verdict}`: every flow, by event
//! type (`Drop`, `Trace`, `PolicyVerdict`), subtype (the observation point of traces,
//! `to-endpoint`) and verdict, as Hubble's `flow` metric.

use observe_proto::flow::Flow;

use super::labels;
use super::series::CounterVec;
use super::text::Encoder;
use super::{Handler, Plugin};

/// The plugin.
pub(super) const PLUGIN: Plugin = Plugin {
    name: "flow",
    new: || Box::new(FlowHandler::default()),
};

type Key = (&'static str, &'static str, &'static str, &'static str);

#[derive(Default)]
struct FlowHandler {
    flows: CounterVec<Key>,
}

impl Handler for FlowHandler {
    fn process_flow(&mut self, flow: &Flow) {
        let (kind, subtype) = event_type(flow);
        self.flows
            .inc((labels::protocol(flow), kind, subtype, labels::verdict(flow)));
    }

    fn encode(&self, out: &mut Encoder) {
        self.flows.encode(
            out,
            (
                "hubble_flows_processed_total",
                "Total number of flows processed",
            ),
            ["protocol", "type", "subtype", "verdict"],
            |(protocol, kind, subtype, verdict)| {
                [protocol, kind, subtype, verdict].map(ToString::to_string)
            },
        );
    }
}

/// Cilium's monitor type names, and for traces the observation point
/// (`monitorAPI.TraceObservationPoints`).
fn event_type(flow: &Flow) -> (&'static str, &'static str) {
    let (kind, sub) = flow
        .event_type
        .as_ref()
        .map_or((0, 0), |e| (e.r#type, e.sub_type));
    match kind {
        1 => ("Drop", ""),
        3 => ("Capture", ""),
        4 => ("Trace", observation_point(sub)),
        5 => ("PolicyVerdict", ""),
        129 => ("L7", ""),
        _ => ("Unknown", ""),
    }
}

fn observation_point(sub_type: i32) -> &'static str {
    const POINTS: [&str; 14] = [
        "to-endpoint",
        "to-proxy",
        "to-host",
        "to-stack",
        "to-overlay",
        "from-endpoint",
        "from-proxy",
        "from-host",
        "from-stack",
        "from-overlay",
        "from-network",
        "to-network",
        "from-crypto",
        "to-crypto",
    ];
    usize::try_from(sub_type)
        .ok()
        .and_then(|i| POINTS.get(i))
        .copied()
        .unwrap_or("")
}
