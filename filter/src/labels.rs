//! `source_label` / `destination_label` / `node_labels`: Kubernetes label selectors (see
//! [`super::selector`]) over each side's labels or the node's.

use observe_proto::flow::{Flow, FlowFilter};

use super::selector::Selector;
use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the label filters.
pub struct LabelsFilter;

impl FilterBuilder for LabelsFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        let fields: [(&'static str, &[String], LabelsOf); 3] = [
            ("source_label", &filter.source_label, |f| {
                f.source.as_ref().map_or(&[], |e| e.labels.as_slice())
            }),
            ("destination_label", &filter.destination_label, |f| {
                f.destination.as_ref().map_or(&[], |e| e.labels.as_slice())
            }),
            ("node_labels", &filter.node_labels, |f| {
                f.node_labels.as_slice()
            }),
        ];
        let mut out = Vec::new();
        for (field, values, labels) in fields {
            if !values.is_empty() {
                out.push(by_selectors(parse_all(field, values)?, labels));
            }
        }
        Ok(out)
    }
}

/// Reads one label list of a flow.
type LabelsOf = fn(&Flow) -> &[String];

fn parse_all(field: &'static str, values: &[String]) -> Result<Vec<Selector>, FilterError> {
    values
        .iter()
        .map(|v| Selector::parse(v).map_err(|e| FilterError::invalid(field, v, e)))
        .collect()
}

fn by_selectors(selectors: Vec<Selector>, labels: LabelsOf) -> FilterFn {
    Box::new(move |flow| {
        let labels = labels(flow);
        selectors.iter().any(|s| s.matches(labels))
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{Flow, FlowFilter};

    fn flow() -> Flow {
        let mut flow = with_endpoints(
            forwarded(),
            endpoint("default", "web", 1, &["k8s:app=web", "k8s:tier=frontend"]),
            endpoint("", "", 2, &["reserved:world"]),
        );
        flow.node_labels = vec!["kubernetes.io/hostname=node-1".into()];
        flow
    }

    #[test]
    fn selectors_per_side() {
        let src = FlowFilter {
            source_label: vec!["app=web,tier in (a,frontend),!x".into()],
            ..Default::default()
        };
        check(
            src,
            &[
                ("source", flow(), true),
                ("no endpoints", forwarded(), false),
            ],
        );
        let world = FlowFilter {
            destination_label: vec!["reserved:world".into()],
            ..Default::default()
        };
        check(world, &[("world", flow(), true)]);
        let either = FlowFilter {
            source_label: vec!["app=db".into(), "app=web".into()],
            ..Default::default()
        };
        check(either, &[("any selector", flow(), true)]);
        let node = FlowFilter {
            node_labels: vec!["kubernetes.io/hostname=node-1".into()],
            ..Default::default()
        };
        check(node, &[("node", flow(), true)]);
    }

    #[test]
    fn bad_selectors_name_field_and_value() {
        let err = build_err(FlowFilter {
            destination_label: vec!["app in web".into()],
            ..Default::default()
        });
        let text = err.to_string();
        assert!(
            text.starts_with("invalid destination_label filter \"app in web\""),
            "{text}"
        );
    }
}
