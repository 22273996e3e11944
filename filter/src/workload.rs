//! `source_workload` / `destination_workload`: owning workloads by name and kind; an
//! empty name or kind matches any.

use observe_proto::flow::{Endpoint, Flow, FlowFilter, Workload};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the workload filters.
pub struct WorkloadFilter;

impl FilterBuilder for WorkloadFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        let mut out = Vec::new();
        if !filter.source_workload.is_empty() {
            out.push(by_workload(filter.source_workload.clone(), |f| {
                f.source.as_ref()
            }));
        }
        if !filter.destination_workload.is_empty() {
            out.push(by_workload(filter.destination_workload.clone(), |f| {
                f.destination.as_ref()
            }));
        }
        Ok(out)
    }
}

fn by_workload(wanted: Vec<Workload>, side: fn(&Flow) -> Option<&Endpoint>) -> FilterFn {
    Box::new(move |flow| {
        let Some(endpoint) = side(flow) else {
            return false;
        };
        endpoint.workloads.iter().any(|w| {
            wanted.iter().any(|f| {
                (f.name.is_empty() || f.name == w.name) && (f.kind.is_empty() || f.kind == w.kind)
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{FlowFilter, Workload};

    fn workload(name: &str, kind: &str) -> Workload {
        Workload {
            name: name.into(),
            kind: kind.into(),
        }
    }

    #[test]
    fn name_and_kind_each_optional() {
        let mut src = endpoint("default", "web-1", 1, &[]);
        src.workloads = vec![workload("web", "Deployment")];
        let flow = with_endpoints(forwarded(), src, endpoint("default", "db-0", 2, &[]));
        let by_kind = FlowFilter {
            source_workload: vec![workload("", "Deployment")],
            ..Default::default()
        };
        check(by_kind, &[("kind", flow.clone(), true)]);
        let by_name = FlowFilter {
            source_workload: vec![workload("web", "StatefulSet")],
            ..Default::default()
        };
        check(by_name, &[("wrong kind", flow.clone(), false)]);
        let dst = FlowFilter {
            destination_workload: vec![workload("web", "")],
            ..Default::default()
        };
        check(dst, &[("destination has none", flow, false)]);
    }
}
