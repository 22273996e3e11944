//! `uuid`: exact flow ids (`observe flows --uuid`).

use observe_proto::flow::{Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the `uuid` filter.
pub struct UuidFilter;

impl FilterBuilder for UuidFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.uuid.is_empty() {
            return Ok(vec![]);
        }
        let uuids = filter.uuid.clone();
        Ok(vec![Box::new(move |flow: &Flow| {
            uuids.contains(&flow.uuid)
        })])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{Flow, FlowFilter};

    #[test]
    fn matches_listed_uuids_only() {
        let flow = |id: &str| Flow {
            uuid: id.into(),
            ..Default::default()
        };
        let filter = FlowFilter {
            uuid: vec!["a-1".into(), "b-2".into()],
            ..Default::default()
        };
        check(
            filter,
            &[
                ("listed", flow("b-2"), true),
                ("other", flow("c-3"), false),
                ("empty", Flow::default(), false),
            ],
        );
        check(
            FlowFilter::default(),
            &[("unset matches all", flow("x"), true)],
        );
    }
}
