//! `deny_kind` (extension): the attribution kind, DEFAULT_DENY (no rule allowed the flow)
//! or EXPLICIT_DENY (a deny rule matched); ALLOWED works too.

use observe_proto::flow::{Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn, contains_i32};

/// Builds the `deny_kind` filter.
pub struct DenyKindFilter;

impl FilterBuilder for DenyKindFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.deny_kind.is_empty() {
            return Ok(vec![]);
        }
        let kinds = filter.deny_kind.clone();
        Ok(vec![Box::new(move |flow: &Flow| {
            flow.attribution
                .as_ref()
                .is_some_and(|a| contains_i32(&kinds, a.kind))
        })])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{Attribution, Flow, FlowFilter, PolicyVerdictKind};

    #[test]
    fn matches_attribution_kinds() {
        let with = |kind: PolicyVerdictKind| Flow {
            attribution: Some(Attribution {
                kind: kind.into(),
                ..Default::default()
            }),
            ..dropped()
        };
        let filter = FlowFilter {
            deny_kind: vec![PolicyVerdictKind::DefaultDeny as i32],
            ..Default::default()
        };
        check(
            filter,
            &[
                ("default deny", with(PolicyVerdictKind::DefaultDeny), true),
                (
                    "explicit deny",
                    with(PolicyVerdictKind::ExplicitDeny),
                    false,
                ),
                ("no attribution", dropped(), false),
            ],
        );
    }
}
