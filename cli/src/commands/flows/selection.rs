//! Choosing from a replayed file's chosen responses ([`super::choice`]) as the agent
//! chooses from its history: everything, the first N flows, or the last N. Loss reports
//! and node status events are never counted; with the last N they are held back with
//! the flows around them. What is held is the response's rendered output.

use std::collections::VecDeque;
use std::io;

use observe_proto::observer::GetFlowsRequest;

use crate::output::flows::Printed;

/// A rendered response held back: its output (or the error rendering gave), its text.
type Held = (io::Result<Printed>, String);

/// What is kept of a replay.
pub struct Selection {
    /// 0: everything; with `first` the first N flows; otherwise the last N.
    number: u64,
    first: bool,
    /// Flows sent so far (first N).
    sent: u64,
    /// Responses held back (last N), with whether each is a flow, and how many are.
    held: VecDeque<(bool, Held)>,
    held_flows: u64,
}

impl Selection {
    /// The selection of `request` (`number`, `first`).
    pub fn new(request: &GetFlowsRequest) -> Self {
        Self {
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

    /// Offers one chosen response (`flow`: whether it is a flow), rendered (`printed`, its
    /// text in `text`): printed now by `print`, or held back (copied).
    ///
    /// # Errors
    ///
    /// The first error of `print`.
    pub fn offer<E>(
        &mut self,
        flow: bool,
        printed: io::Result<Printed>,
        text: &str,
        print: impl FnOnce(io::Result<Printed>, &str) -> Result<(), E>,
    ) -> Result<(), E> {
        if flow {
            self.sent += 1;
        }
        if self.first || self.number == 0 {
            return print(printed, text);
        }
        let held = match printed {
            Ok(printed) => {
                let (printed, own) = printed.detach(text);
                (Ok(printed), own)
            }
            Err(e) => (Err(e), String::new()),
        };
        if flow {
            self.held_flows += 1;
        }
        self.held.push_back((flow, held));
        while self.held_flows > self.number {
            if let Some((true, _)) = self.held.pop_front() {
                self.held_flows -= 1;
            }
        }
        Ok(())
    }

    /// What was held back (last N), in file order.
    pub fn finish(self) -> impl Iterator<Item = Held> {
        self.held.into_iter().map(|(_, held)| held)
    }
}
