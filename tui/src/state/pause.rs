//! Pausing: the table freezes while flows keep arriving. They are held aside (up to the
//! buffer's capacity, the oldest dropped beyond that) and counted, then appended when the
//! user resumes, so a pause loses nothing a running table would have kept.

use std::collections::VecDeque;

use observe_proto::flow::Flow;

/// Pause state.
#[derive(Clone, Debug, Default)]
pub struct Pause {
    paused: bool,
    held: VecDeque<Box<Flow>>,
    /// Flows that arrived during this pause.
    arrived: u64,
    capacity: usize,
}

impl Pause {
    /// Not paused; holds at most `capacity` flows while paused.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            ..Self::default()
        }
    }

    /// Whether the table is frozen.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Flows that arrived since the pause began.
    pub fn arrived(&self) -> u64 {
        self.arrived
    }

    /// Freezes the table.
    pub fn pause(&mut self) {
        self.paused = true;
        self.arrived = 0;
    }

    /// Unfreezes; returns the held flows, oldest first.
    pub fn resume(&mut self) -> VecDeque<Box<Flow>> {
        self.paused = false;
        self.arrived = 0;
        std::mem::take(&mut self.held)
    }

    /// Holds a flow that arrived while paused.
    pub fn hold(&mut self, flow: Box<Flow>) {
        self.arrived += 1;
        if self.held.len() == self.capacity {
            self.held.pop_front();
        }
        self.held.push_back(flow);
    }

    /// Forgets held flows (a new filter makes them stale).
    pub fn discard(&mut self) {
        self.held.clear();
        self.arrived = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_arriving_while_paused_are_counted_and_released_on_resume() {
        let mut p = Pause::new(2);
        p.pause();
        (0..3).for_each(|_| p.hold(Box::default()));
        assert_eq!(p.arrived(), 3);
        assert_eq!(p.resume().len(), 2, "held up to the capacity");
        assert!(!p.is_paused() && p.arrived() == 0);
    }
}
