//! `trace_id` (W3C trace ids from L7 traffic) and `ip_trace_id` (IP option trace ids).

use observe_proto::flow::{Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the trace id filters.
pub struct TraceIdFilter;

impl FilterBuilder for TraceIdFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        let mut out: Vec<FilterFn> = Vec::new();
        if !filter.trace_id.is_empty() {
            let ids = filter.trace_id.clone();
            out.push(Box::new(move |flow: &Flow| {
                let id = flow
                    .trace_context
                    .as_ref()
                    .and_then(|c| c.parent.as_ref())
                    .map_or("", |p| p.trace_id.as_str());
                ids.iter().any(|i| i == id)
            }));
        }
        if !filter.ip_trace_id.is_empty() {
            let ids = filter.ip_trace_id.clone();
            out.push(Box::new(move |flow: &Flow| {
                let id = flow.ip_trace_id.map_or(0, |t| t.trace_id);
                ids.contains(&id)
            }));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{Flow, FlowFilter, IpTraceId, TraceContext, TraceParent};

    #[test]
    fn matches_either_trace_id() {
        let flow = Flow {
            trace_context: Some(TraceContext {
                parent: Some(TraceParent {
                    trace_id: "4bf92f35".into(),
                }),
            }),
            ip_trace_id: Some(IpTraceId {
                trace_id: 77,
                ip_option_type: 1,
            }),
            ..forwarded()
        };
        let w3c = FlowFilter {
            trace_id: vec!["4bf92f35".into()],
            ..Default::default()
        };
        check(
            w3c,
            &[("w3c", flow.clone(), true), ("none", forwarded(), false)],
        );
        let ip = FlowFilter {
            ip_trace_id: vec![77],
            ..Default::default()
        };
        check(
            ip,
            &[("ip option", flow, true), ("none", forwarded(), false)],
        );
    }
}
