//! `staged_verdict` (extension): flows whose staged verdict is one of these, from
//! `observe policy stage` (a flow without one, seen while nothing was staged or not a new
//! connection, never matches).

use observe_proto::flow::{Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn, contains_i32};

/// Builds the `staged_verdict` filter.
pub struct StagedVerdictFilter;

impl FilterBuilder for StagedVerdictFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.staged_verdict.is_empty() {
            return Ok(vec![]);
        }
        let verdicts = filter.staged_verdict.clone();
        Ok(vec![Box::new(move |flow: &Flow| {
            flow.staged
                .as_ref()
                .is_some_and(|s| contains_i32(&verdicts, s.verdict))
        })])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{Flow, FlowFilter, StagedVerdict, Verdict};

    #[test]
    fn matches_the_staged_verdict_not_the_flows_own() {
        let filter = FlowFilter {
            staged_verdict: vec![Verdict::Dropped as i32],
            ..Default::default()
        };
        let staged = |verdict: Verdict| Flow {
            staged: Some(StagedVerdict {
                verdict: verdict.into(),
                ..Default::default()
            }),
            ..forwarded()
        };
        check(
            filter,
            &[
                ("staged dropped", staged(Verdict::Dropped), true),
                ("staged forwarded", staged(Verdict::Forwarded), false),
                ("dropped, nothing staged", dropped(), false),
            ],
        );
    }
}
