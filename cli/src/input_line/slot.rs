//! The response every line is read into ([`crate::fast_json::in_place`]), and the flow
//! kept aside while a line holds a loss report or a node status, so that the next flow
//! line reuses its strings again. The `GetFlowsResponse` visitor is pbjson's, by hand:
//! its event is a oneof (`flow`, `node_status`, `lost_events`: one of them at most).

use observe_proto::flow::{Flow, LostEvent};
use observe_proto::observer::GetFlowsResponse;
use observe_proto::observer::get_flows_response::ResponseTypes;
use observe_proto::relay::NodeStatusEvent;
use serde::Deserialize;

use crate::fast_json::fields::{not_null, string, timestamp};
use crate::fast_json::{Cursor, InPlace, Seen, Unsupported};

/// Fields of a `GetFlowsResponse`.
#[derive(Clone, Copy)]
enum Field {
    NodeName,
    Time,
    Flow,
    NodeStatus,
    LostEvents,
}

impl Field {
    /// The field's key for [`Seen`]: the three events are one oneof, set once at most.
    fn seen_index(self) -> u32 {
        match self {
            Field::NodeName => 0,
            Field::Time => 1,
            Field::Flow | Field::NodeStatus | Field::LostEvents => 2,
        }
    }
}

/// A response read in place, line after line.
#[derive(Default)]
pub struct Slot {
    /// The last line read.
    pub response: GetFlowsResponse,
    /// The flow's allocations while `response` holds another event.
    spare: Flow,
}

impl Slot {
    /// Reads a `GetFlowsResponse` text.
    ///
    /// # Errors
    ///
    /// [`Unsupported`]; `response` is then unspecified.
    pub fn read_response(&mut self, text: &str) -> Result<(), Unsupported> {
        let mut cursor = Cursor::new(text);
        self.read_object(&mut cursor)?;
        cursor.end()
    }

    /// Reads a bare `Flow` text, as the response the agent would have sent (the flow's
    /// node name and time copied up).
    ///
    /// # Errors
    ///
    /// [`Unsupported`]; `response` is then unspecified.
    pub fn read_bare_flow(&mut self, text: &str) -> Result<(), Unsupported> {
        let mut cursor = Cursor::new(text);
        let flow = self.flow()?;
        flow.read_in_place(&mut cursor)?;
        cursor.end()?;
        let (node_name, time) = (flow.node_name.clone(), flow.time);
        self.response.node_name = node_name;
        self.response.time = time;
        Ok(())
    }

    /// Holds `response`, read elsewhere (its flow's allocations are reused from then on).
    pub fn replace(&mut self, response: GetFlowsResponse) -> &GetFlowsResponse {
        self.response = response;
        &self.response
    }

    fn read_object(&mut self, cursor: &mut Cursor<'_>) -> Result<(), Unsupported> {
        let mut seen = Seen::default();
        cursor.open(b'{')?;
        let mut first = true;
        while cursor.next_item(&mut first, b'}')? {
            let field = match cursor.string()?.as_str() {
                "nodeName" | "node_name" => Some(Field::NodeName),
                "time" => Some(Field::Time),
                "flow" => Some(Field::Flow),
                "nodeStatus" | "node_status" => Some(Field::NodeStatus),
                "lostEvents" | "lost_events" => Some(Field::LostEvents),
                _ => None,
            };
            cursor.eat(b':')?;
            let Some(field) = field else {
                cursor.skip_value()?;
                continue;
            };
            seen.first(field.seen_index())?;
            not_null(cursor)?;
            self.read_field(field, cursor)?;
        }
        cursor.close(b'}')?;
        self.reset_unseen(&seen);
        Ok(())
    }

    fn read_field(&mut self, field: Field, cursor: &mut Cursor<'_>) -> Result<(), Unsupported> {
        match field {
            Field::NodeName => string(cursor, &mut self.response.node_name),
            Field::Time => timestamp(cursor, &mut self.response.time),
            Field::Flow => self.flow()?.read_in_place(cursor),
            Field::NodeStatus => {
                let status = NodeStatusEvent::deserialize(&mut *cursor)?;
                self.set_other(ResponseTypes::NodeStatus(status));
                Ok(())
            }
            Field::LostEvents => {
                let lost = LostEvent::deserialize(&mut *cursor)?;
                self.set_other(ResponseTypes::LostEvents(lost));
                Ok(())
            }
        }
    }

    fn reset_unseen(&mut self, seen: &Seen) {
        if !seen.has(Field::NodeName.seen_index()) {
            self.response.node_name.clear();
        }
        if !seen.has(Field::Time.seen_index()) {
            self.response.time = None;
        }
        if !seen.has(Field::Flow.seen_index()) {
            self.stash_flow();
            self.response.response_types = None;
        }
    }

    /// The response's flow, the spare one moved in if it holds another event. (The
    /// error cannot happen: the flow was just put in.)
    fn flow(&mut self) -> Result<&mut Flow, Unsupported> {
        if !matches!(self.response.response_types, Some(ResponseTypes::Flow(_))) {
            let flow = std::mem::take(&mut self.spare);
            self.response.response_types = Some(ResponseTypes::Flow(flow));
        }
        match &mut self.response.response_types {
            Some(ResponseTypes::Flow(flow)) => Ok(flow),
            _ => Err(Unsupported),
        }
    }

    /// Another event, the flow kept aside.
    fn set_other(&mut self, event: ResponseTypes) {
        self.stash_flow();
        self.response.response_types = Some(event);
    }

    fn stash_flow(&mut self) {
        if let Some(ResponseTypes::Flow(flow)) = self.response.response_types.take() {
            self.spare = flow;
        }
    }
}
