//! `traffic_direction`: INGRESS or EGRESS.

use observe_proto::flow::{Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn, contains_i32};

/// Builds the `traffic_direction` filter.
pub struct TrafficDirectionFilter;

impl FilterBuilder for TrafficDirectionFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.traffic_direction.is_empty() {
            return Ok(vec![]);
        }
        let directions = filter.traffic_direction.clone();
        Ok(vec![Box::new(move |flow: &Flow| {
            contains_i32(&directions, flow.traffic_direction)
        })])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{Flow, FlowFilter, TrafficDirection};

    #[test]
    fn matches_listed_directions() {
        let filter = FlowFilter {
            traffic_direction: vec![TrafficDirection::Egress as i32],
            ..Default::default()
        };
        let with = |d: TrafficDirection| Flow {
            traffic_direction: d.into(),
            ..Default::default()
        };
        check(
            filter,
            &[
                ("egress", with(TrafficDirection::Egress), true),
                ("ingress", with(TrafficDirection::Ingress), false),
                ("unknown", Flow::default(), false),
            ],
        );
    }
}
