//! Flows per second and drops per second as this view receives them, and the last two
//! minutes of drops/s for the sparkline. Advanced by the once-a-second `Tick`, so the
//! numbers are whole seconds and the tests control time.

use std::collections::VecDeque;

/// Seconds of drops/s history kept for the sparkline.
pub const HISTORY: usize = 120;

/// Per-second counters.
#[derive(Clone, Debug, Default)]
pub struct Rates {
    flows_this_second: u64,
    drops_this_second: u64,
    /// Flows in the last complete second.
    pub flows_per_second: u64,
    /// Drops in the last complete second.
    pub drops_per_second: u64,
    /// Drops per second, oldest first.
    drops_history: VecDeque<u64>,
}

impl Rates {
    /// Counts one flow.
    pub fn record(&mut self, is_drop: bool) {
        self.flows_this_second += 1;
        self.drops_this_second += u64::from(is_drop);
    }

    /// Closes the current second.
    pub fn tick(&mut self) {
        self.flows_per_second = std::mem::take(&mut self.flows_this_second);
        self.drops_per_second = std::mem::take(&mut self.drops_this_second);
        if self.drops_history.len() == HISTORY {
            self.drops_history.pop_front();
        }
        self.drops_history.push_back(self.drops_per_second);
    }

    /// The last `n` seconds of drops/s, oldest first.
    pub fn drops_history(&self, n: usize) -> Vec<u64> {
        let skip = self.drops_history.len().saturating_sub(n);
        self.drops_history.iter().skip(skip).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_turns_counts_into_rates_and_history() {
        let mut r = Rates::default();
        r.record(true);
        r.record(false);
        r.tick();
        assert_eq!((r.flows_per_second, r.drops_per_second), (2, 1));
        r.tick();
        assert_eq!(r.drops_history(5), vec![1, 0]);
        (0..HISTORY).for_each(|_| r.tick());
        assert_eq!(r.drops_history(usize::MAX).len(), HISTORY);
    }
}
