//! `source_service` / `destination_service`: same syntax as the pod filters, matched
//! against the flow's service names.

use observe_proto::flow::FlowFilter;

use super::pod::{by_name, parse_names};
use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the service filters.
pub struct ServiceFilter;

impl FilterBuilder for ServiceFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        let mut out = Vec::new();
        if !filter.source_service.is_empty() {
            let names = parse_names("source_service", &filter.source_service)?;
            out.push(by_name(names, |f| {
                f.source_service.as_ref().map(|s| (&*s.namespace, &*s.name))
            }));
        }
        if !filter.destination_service.is_empty() {
            let names = parse_names("destination_service", &filter.destination_service)?;
            out.push(by_name(names, |f| {
                f.destination_service
                    .as_ref()
                    .map(|s| (&*s.namespace, &*s.name))
            }));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{Flow, FlowFilter, Service};

    #[test]
    fn matches_service_names() {
        let flow = Flow {
            destination_service: Some(Service {
                name: "api-gateway".into(),
                namespace: "prod".into(),
            }),
            ..forwarded()
        };
        let filter = FlowFilter {
            destination_service: vec!["prod/api".into()],
            ..Default::default()
        };
        check(
            filter,
            &[("service", flow, true), ("no service", forwarded(), false)],
        );
    }
}
