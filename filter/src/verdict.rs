//! `verdict`: FORWARDED, DROPPED, AUDIT, ...

use observe_proto::flow::{Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn, contains_i32};

/// Builds the `verdict` filter.
pub struct VerdictFilter;

impl FilterBuilder for VerdictFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.verdict.is_empty() {
            return Ok(vec![]);
        }
        let verdicts = filter.verdict.clone();
        Ok(vec![Box::new(move |flow: &Flow| {
            contains_i32(&verdicts, flow.verdict)
        })])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{Flow, FlowFilter, Verdict};

    #[test]
    fn matches_listed_verdicts() {
        let filter = FlowFilter {
            verdict: vec![Verdict::Dropped as i32, Verdict::Audit as i32],
            ..Default::default()
        };
        let audit = Flow {
            verdict: Verdict::Audit.into(),
            ..Default::default()
        };
        check(
            filter,
            &[
                ("dropped", dropped(), true),
                ("audit", audit, true),
                ("forwarded", forwarded(), false),
                ("unknown", Flow::default(), false),
            ],
        );
    }
}
