//! `event_type`: monitor type (1 drop, 4 trace, 5 policy verdict, ...; 0 any) and, with
//! `match_sub_type`, subtype (drop reason, observation point).

use observe_proto::flow::{EventTypeFilter as TypeFilter, Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the `event_type` filter.
pub struct EventTypeFilter;

impl FilterBuilder for EventTypeFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.event_type.is_empty() {
            return Ok(vec![]);
        }
        let types = filter.event_type.clone();
        Ok(vec![Box::new(move |flow: &Flow| {
            let Some(event) = flow.event_type else {
                return false;
            };
            types
                .iter()
                .any(|t| matches(t, event.r#type, event.sub_type))
        })])
    }
}

fn matches(filter: &TypeFilter, ty: i32, sub_type: i32) -> bool {
    (filter.r#type == 0 || filter.r#type == ty)
        && (!filter.match_sub_type || filter.sub_type == sub_type)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{CiliumEventType, EventTypeFilter, Flow, FlowFilter};

    fn flow(ty: i32, sub_type: i32) -> Flow {
        Flow {
            event_type: Some(CiliumEventType {
                r#type: ty,
                sub_type,
            }),
            ..Default::default()
        }
    }

    fn filter(ty: i32, sub: Option<i32>) -> FlowFilter {
        FlowFilter {
            event_type: vec![EventTypeFilter {
                r#type: ty,
                match_sub_type: sub.is_some(),
                sub_type: sub.unwrap_or(0),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn type_and_optional_subtype() {
        check(
            filter(4, None),
            &[
                ("any trace", flow(4, 5), true),
                ("drop", flow(1, 133), false),
            ],
        );
        // Subtype 0 (to-endpoint) is a real value, hence match_sub_type.
        check(
            filter(4, Some(0)),
            &[
                ("to-endpoint", flow(4, 0), true),
                ("from-endpoint", flow(4, 5), false),
            ],
        );
        check(filter(0, Some(133)), &[("any type", flow(1, 133), true)]);
        check(
            filter(1, None),
            &[("no event type", Flow::default(), false)],
        );
    }
}
