//! `source_cluster_name` / `destination_cluster_name`: exact cluster names.

use observe_proto::flow::{Endpoint, Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the cluster name filters.
pub struct ClusterNameFilter;

impl FilterBuilder for ClusterNameFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        let mut out = Vec::new();
        if !filter.source_cluster_name.is_empty() {
            let names = validate("source_cluster_name", &filter.source_cluster_name)?;
            out.push(by_cluster(names, |f| f.source.as_ref()));
        }
        if !filter.destination_cluster_name.is_empty() {
            let names = validate("destination_cluster_name", &filter.destination_cluster_name)?;
            out.push(by_cluster(names, |f| f.destination.as_ref()));
        }
        Ok(out)
    }
}

fn validate(field: &'static str, names: &[String]) -> Result<Vec<String>, FilterError> {
    match names.iter().find(|n| n.is_empty()) {
        Some(empty) => Err(FilterError::invalid(field, empty, "name must not be empty")),
        None => Ok(names.to_vec()),
    }
}

fn by_cluster(names: Vec<String>, side: fn(&Flow) -> Option<&Endpoint>) -> FilterFn {
    Box::new(move |flow| {
        let cluster = side(flow).map_or("", |e| e.cluster_name.as_str());
        names.iter().any(|n| n == cluster)
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::FlowFilter;

    #[test]
    fn exact_names_and_no_empty_ones() {
        let mut src = endpoint("a", "b", 1, &[]);
        src.cluster_name = "east".into();
        let flow = with_endpoints(forwarded(), src, endpoint("a", "c", 2, &[]));
        let filter = FlowFilter {
            source_cluster_name: vec!["east".into()],
            ..Default::default()
        };
        check(
            filter,
            &[("east", flow.clone(), true), ("none", forwarded(), false)],
        );
        let err = build_err(FlowFilter {
            destination_cluster_name: vec![String::new()],
            ..Default::default()
        });
        assert!(err.to_string().contains("must not be empty"));
    }
}
