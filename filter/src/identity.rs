//! `source_identity` / `destination_identity`: security identities by number (the CLI
//! turns reserved names like `world` into their numbers).

use observe_proto::flow::{Endpoint, Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the identity filters.
pub struct IdentityFilter;

impl FilterBuilder for IdentityFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        let mut out = Vec::new();
        if !filter.source_identity.is_empty() {
            out.push(by_identity(filter.source_identity.clone(), |f| {
                f.source.as_ref()
            }));
        }
        if !filter.destination_identity.is_empty() {
            out.push(by_identity(filter.destination_identity.clone(), |f| {
                f.destination.as_ref()
            }));
        }
        Ok(out)
    }
}

fn by_identity(identities: Vec<u32>, side: fn(&Flow) -> Option<&Endpoint>) -> FilterFn {
    Box::new(move |flow| side(flow).is_some_and(|ep| identities.contains(&ep.identity)))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::FlowFilter;

    #[test]
    fn matches_each_side_separately() {
        let flow = with_endpoints(
            forwarded(),
            endpoint("a", "x", 100, &[]),
            endpoint("b", "y", 2, &[]),
        );
        let src = FlowFilter {
            source_identity: vec![1, 100],
            ..Default::default()
        };
        check(
            src,
            &[
                ("source", flow.clone(), true),
                ("no endpoints", forwarded(), false),
            ],
        );
        let dst = FlowFilter {
            destination_identity: vec![100],
            ..Default::default()
        };
        check(dst, &[("destination is 2", flow, false)]);
    }
}
