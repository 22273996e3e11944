//! Choosing flows from a replayed file as the agent chooses them from its history: time
//! bounds, filters (compiled by `observe_filter`, the server's own code), then the
//! first N or the last N, each flow cut down by the agent's field mask. Loss reports and
//! node status events are never filtered and never counted.

use std::borrow::Cow;
use std::collections::VecDeque;

use observe_filter::{Compiled, FieldMask};
use observe_proto::observer::GetFlowsResponse;
use observe_proto::observer::get_flows_response::ResponseTypes;

/// What is kept of a replay.
pub struct Selection {
    filters: Compiled,
    mask: Option<FieldMask>,
    since: Option<i128>,
    until: Option<i128>,
    /// 0: everything; with `first` the first N flows; otherwise the last N.
    number: u64,
    first: bool,
    /// Flows sent so far (first N).
    sent: u64,
    /// Responses held back (last N), with how many of them are flows.
    held: VecDeque<GetFlowsResponse>,
    held_flows: u64,
}

impl Selection {
    /// A selection with compiled `filters`, the request's bounds and a compiled field
    /// mask (`None`: every field).
    pub fn new(
        filters: Compiled,
        request: &observe_proto::observer::GetFlowsRequest,
        mask: Option<FieldMask>,
    ) -> Self {
        Self {
            filters,
            mask,
            since: request.since.map(|t| t.unix_nanos()),
            until: request.until.map(|t| t.unix_nanos()),
            number: if request.number == u64::MAX {
                0
            } else {
                request.number
            },
            first: request.first,
            sent: 0,
            held: VecDeque::new(),
            held_flows: 0,
        }
    }

    /// Whether the first N were sent and the rest of the file can be skipped.
    pub fn is_done(&self) -> bool {
        self.first && self.number > 0 && self.sent >= self.number
    }

    /// Offers one response; what is to be printed now goes to `print` (the response
    /// itself, or its flow cut down by the mask), what is held back is copied.
    ///
    /// # Errors
    ///
    /// The first error of `print`.
    pub fn offer<E>(
        &mut self,
        response: &GetFlowsResponse,
        print: impl FnMut(&GetFlowsResponse) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some(ResponseTypes::Flow(flow)) = &response.response_types {
            if !self.in_bounds(flow.time.map(|t| t.unix_nanos())) || !self.filters.matches(flow) {
                return Ok(());
            }
            self.sent += 1;
            if let Some(mask) = &self.mask {
                let masked = GetFlowsResponse {
                    node_name: response.node_name.clone(),
                    time: response.time,
                    response_types: Some(ResponseTypes::Flow(mask.apply(flow))),
                };
                return self.pass(Cow::Owned(masked), print);
            }
        }
        self.pass(Cow::Borrowed(response), print)
    }

    fn in_bounds(&self, time: Option<i128>) -> bool {
        let after_since = self.since.is_none_or(|s| time.is_some_and(|t| t >= s));
        let before_until = self.until.is_none_or(|u| time.is_some_and(|t| t <= u));
        after_since && before_until
    }

    /// Everything or the first N: print now. Last N: hold responses, dropping the oldest
    /// beyond N flows.
    fn pass<E>(
        &mut self,
        response: Cow<'_, GetFlowsResponse>,
        mut print: impl FnMut(&GetFlowsResponse) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.first || self.number == 0 {
            return print(&response);
        }
        if is_flow(&response) {
            self.held_flows += 1;
        }
        self.held.push_back(response.into_owned());
        while self.held_flows > self.number {
            if let Some(dropped) = self.held.pop_front()
                && is_flow(&dropped)
            {
                self.held_flows -= 1;
            }
        }
        Ok(())
    }

    /// What was held back (last N), in file order.
    pub fn finish(self) -> Vec<GetFlowsResponse> {
        self.held.into()
    }
}

fn is_flow(response: &GetFlowsResponse) -> bool {
    matches!(response.response_types, Some(ResponseTypes::Flow(_)))
}
