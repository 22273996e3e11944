//! Everything that changes the app's state ([`Msg`]) and everything the app asks the
//! event loop to do in return ([`Cmd`]). Messages come from the terminal (keys, resizes),
//! the clock (ticks) and the network tasks (flows, losses, status, endpoints, connection
//! changes); `App::update` is the only consumer.

use crossterm::event::KeyEvent;
use observe_proto::control::Endpoint;
use observe_proto::flow::{Flow, LostEvent};
use observe_proto::observer::ServerStatusResponse;

use crate::filter::FilterSpec;

/// A state change.
#[derive(Clone, Debug)]
pub enum Msg {
    /// A key was pressed.
    Key(KeyEvent),
    /// The terminal is now `width` × `height` cells.
    Resize(u16, u16),
    /// One second passed (rates, sparkline, loss rates).
    Tick,
    /// A flow from the stream.
    Flow(Box<Flow>),
    /// A loss report from the stream, and the node that lost (through a relay, each node
    /// reports its own).
    Lost(String, LostEvent),
    /// The stream task skipped this many flows because the app's queue was full.
    Skipped(u64),
    /// The flow stream is open.
    Connected,
    /// The flow stream broke or could not open, and why; the stream task retries.
    Disconnected(String),
    /// The agent rejected the filter (`INVALID_ARGUMENT`), and why; the stream stopped.
    FilterRejected(String),
    /// A `ServerStatus` answer.
    Status(Box<ServerStatusResponse>),
    /// `ServerStatus` failed, and why.
    StatusUnavailable(String),
    /// The control API's endpoints, or why they are unavailable.
    Endpoints(Result<Vec<Endpoint>, String>),
}

/// What the event loop must do after an update.
#[derive(Clone, Debug, PartialEq)]
pub enum Cmd {
    /// Restore the terminal and exit.
    Quit,
    /// Restart the flow stream with this filter (server-side filtering).
    Stream(FilterSpec),
}
