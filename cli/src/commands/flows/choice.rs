//! Which flows of a replayed file the agent would send: time bounds and filters (compiled
//! by `observe_filter`, the server's own code), each flow cut down by the agent's field
//! mask. Loss reports and node status events always pass. A choice depends on the flow
//! alone, so a replay makes it on its reader threads; counting and holding back what
//! passes is [`super::selection`]'s.

use std::borrow::Cow;

use observe_filter::{Compiled, FieldMask};
use observe_proto::observer::get_flows_response::ResponseTypes;
use observe_proto::observer::{GetFlowsRequest, GetFlowsResponse};

/// Bounds, filters and mask of one request.
pub struct Choice {
    filters: Compiled,
    mask: Option<FieldMask>,
    since: Option<i128>,
    until: Option<i128>,
}

impl Choice {
    /// The choice of `request`, with its compiled `filters` and field `mask` (`None`:
    /// every field).
    pub fn new(filters: Compiled, request: &GetFlowsRequest, mask: Option<FieldMask>) -> Self {
        Self {
            filters,
            mask,
            since: request.since.map(|t| t.unix_nanos()),
            until: request.until.map(|t| t.unix_nanos()),
        }
    }

    /// What of `response` is to be printed: `None` for a flow out of bounds or filtered
    /// out; the response itself, or with its flow cut down by the mask.
    pub fn choose<'a>(&self, response: &'a GetFlowsResponse) -> Option<Cow<'a, GetFlowsResponse>> {
        let Some(ResponseTypes::Flow(flow)) = &response.response_types else {
            return Some(Cow::Borrowed(response));
        };
        if !self.in_bounds(flow.time.map(|t| t.unix_nanos())) || !self.filters.matches(flow) {
            return None;
        }
        let Some(mask) = &self.mask else {
            return Some(Cow::Borrowed(response));
        };
        Some(Cow::Owned(GetFlowsResponse {
            node_name: response.node_name.clone(),
            time: response.time,
            response_types: Some(ResponseTypes::Flow(mask.apply(flow))),
        }))
    }

    fn in_bounds(&self, time: Option<i128>) -> bool {
        let after_since = self.since.is_none_or(|s| time.is_some_and(|t| t >= s));
        let before_until = self.until.is_none_or(|u| time.is_some_and(|t| t <= u));
        after_since && before_until
    }
}
