//! `drop_reason_desc`: drop reasons by enum value (`--drop-reason-desc POLICY_DENIED`).

use observe_proto::flow::{Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn, contains_i32};

/// Builds the `drop_reason_desc` filter.
pub struct DropReasonDescFilter;

impl FilterBuilder for DropReasonDescFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.drop_reason_desc.is_empty() {
            return Ok(vec![]);
        }
        let reasons = filter.drop_reason_desc.clone();
        Ok(vec![Box::new(move |flow: &Flow| {
            contains_i32(&reasons, flow.drop_reason_desc)
        })])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{DropReason, Flow, FlowFilter};

    #[test]
    fn matches_listed_reasons() {
        let filter = FlowFilter {
            drop_reason_desc: vec![DropReason::PolicyDenied as i32],
            ..Default::default()
        };
        let with = |r: DropReason| Flow {
            drop_reason_desc: r.into(),
            ..dropped()
        };
        check(
            filter,
            &[
                ("policy denied", with(DropReason::PolicyDenied), true),
                ("explicit deny", with(DropReason::PolicyDeny), false),
                ("not dropped", forwarded(), false),
            ],
        );
    }
}
