//! `experimental.cel_expression`: CEL programs over the flow. Not supported: there is no
//! CEL evaluator here, and silently ignoring the expression would return wrong results,
//! so a request that uses it fails with "unsupported".

use observe_proto::flow::FlowFilter;

use super::{FilterBuilder, FilterError, FilterFn};

/// Rejects CEL expressions.
pub struct ExperimentalFilter;

impl FilterBuilder for ExperimentalFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        match &filter.experimental {
            Some(e) if !e.cel_expression.is_empty() => Err(FilterError::Unsupported {
                field: "experimental.cel_expression",
            }),
            _ => Ok(vec![]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use observe_proto::flow::flow_filter::Experimental;

    #[test]
    fn cel_expressions_are_refused_and_empty_ones_ignored() {
        let with = |exprs: Vec<String>| FlowFilter {
            experimental: Some(Experimental {
                cel_expression: exprs,
            }),
            ..Default::default()
        };
        let err = build_err(with(vec!["_flow.verdict == 2".into()]));
        assert_eq!(
            err,
            FilterError::Unsupported {
                field: "experimental.cel_expression"
            }
        );
        check(with(vec![]), &[("empty experimental", forwarded(), true)]);
    }
}
