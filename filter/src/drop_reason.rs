//! `drop_reason` (extension): numeric drop reason codes (133, 181, ...), including codes
//! the `DropReason` enum does not name yet.

use observe_proto::flow::{Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the `drop_reason` filter.
pub struct DropReasonFilter;

impl FilterBuilder for DropReasonFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.drop_reason.is_empty() {
            return Ok(vec![]);
        }
        let codes = filter.drop_reason.clone();
        Ok(vec![Box::new(move |flow: &Flow| {
            codes.contains(&code(flow))
        })])
    }
}

/// The numeric reason: the deprecated field when set (it keeps unknown codes), else the
/// enum's value.
fn code(flow: &Flow) -> u32 {
    #[allow(deprecated, reason = "the numeric field keeps codes the enum lacks")]
    let numeric = flow.drop_reason;
    if numeric != 0 {
        numeric
    } else {
        u32::try_from(flow.drop_reason_desc).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{DropReason, Flow, FlowFilter};

    #[test]
    #[allow(deprecated, reason = "builds flows with the numeric field")]
    fn matches_numeric_codes_from_either_field() {
        let filter = FlowFilter {
            drop_reason: vec![181, 250],
            ..Default::default()
        };
        let numeric = |code| Flow {
            drop_reason: code,
            ..dropped()
        };
        let enum_only = Flow {
            drop_reason_desc: DropReason::PolicyDeny.into(),
            ..dropped()
        };
        check(
            filter,
            &[
                ("numeric", numeric(181), true),
                ("unknown to the enum", numeric(250), true),
                ("enum only", enum_only, true),
                ("other", numeric(133), false),
                ("none", forwarded(), false),
            ],
        );
    }
}
