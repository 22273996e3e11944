//! Selection and scrolling of the flow table, kept as sequence numbers of the
//! [`FlowBuffer`] so that arriving and evicted flows never move what the user looks at.
//!
//! With no selection the table follows the newest flows (newest at the bottom, like
//! `observe flows --follow`). The first move up selects the newest row; from then on the
//! view stays put until `End` resumes following.

use super::flow_buffer::FlowBuffer;

/// Where the table is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableView {
    /// The selected flow; `None` follows the newest.
    pub selected: Option<u64>,
    /// The first visible row when a flow is selected.
    top: u64,
}

/// The rows to draw: sequence numbers `start..end`, and which one is selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First visible sequence number.
    pub start: u64,
    /// One past the last visible sequence number.
    pub end: u64,
    /// The selected sequence number, within `start..end`.
    pub selected: Option<u64>,
}

impl TableView {
    /// Whether the view follows the newest flows.
    pub fn is_following(&self) -> bool {
        self.selected.is_none()
    }

    /// The visible rows for a table `height` rows tall. Pure: clamps a stale selection
    /// or scroll position instead of failing.
    pub fn window(&self, buffer: &FlowBuffer, height: usize) -> Window {
        let Some(last) = buffer.last_seq() else {
            let start = buffer.first_seq();
            return Window {
                start,
                end: start,
                selected: None,
            };
        };
        let first = buffer.first_seq();
        let h = height.max(1) as u64;
        let Some(selected) = self.selected.map(|s| s.clamp(first, last)) else {
            let start = (last + 1).saturating_sub(h).max(first);
            return Window {
                start,
                end: last + 1,
                selected: None,
            };
        };
        let mut top = self.top.clamp(first, last).min(selected);
        if selected >= top + h {
            top = selected + 1 - h;
        }
        let end = (top + h).min(last + 1);
        // Keep the table full when the selection is near the newest flows.
        let start = end.saturating_sub(h).max(first).min(top);
        Window {
            start,
            end,
            selected: Some(selected),
        }
    }

    /// Moves the selection `n` rows up (towards older flows).
    pub fn up(&mut self, buffer: &FlowBuffer, height: usize, n: u64) {
        let Some(last) = buffer.last_seq() else {
            return;
        };
        let target = match self.selected {
            None => last.saturating_sub(n.saturating_sub(1)),
            Some(s) => s.saturating_sub(n),
        };
        self.select(buffer, height, target);
    }

    /// Moves the selection `n` rows down (towards newer flows); no-op when following.
    pub fn down(&mut self, buffer: &FlowBuffer, height: usize, n: u64) {
        if let Some(s) = self.selected {
            self.select(buffer, height, s.saturating_add(n));
        }
    }

    /// Selects the oldest flow.
    pub fn home(&mut self, buffer: &FlowBuffer, height: usize) {
        self.top = buffer.first_seq();
        self.select(buffer, height, buffer.first_seq());
    }

    /// Follows the newest flows again.
    pub fn end(&mut self) {
        self.selected = None;
    }

    /// Selects the newest flow if nothing is selected (so the detail pane has a flow).
    pub fn select_newest(&mut self, buffer: &FlowBuffer, height: usize) {
        if self.selected.is_none() {
            self.up(buffer, height, 1);
        }
    }

    fn select(&mut self, buffer: &FlowBuffer, height: usize, seq: u64) {
        let Some(last) = buffer.last_seq() else {
            return;
        };
        self.selected = Some(seq.clamp(buffer.first_seq(), last));
        self.top = self.window(buffer, height).start;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use observe_proto::flow::Flow;

    fn buffer(n: usize) -> FlowBuffer {
        let mut b = FlowBuffer::new(100);
        (0..n).for_each(|_| b.push(Box::new(Flow::default())));
        b
    }

    #[test]
    fn following_shows_the_newest_rows() {
        let b = buffer(10);
        let w = TableView::default().window(&b, 4);
        assert_eq!((w.start, w.end, w.selected), (6, 10, None));
    }

    #[test]
    fn the_first_move_up_selects_the_newest_row_and_stops_following() {
        let b = buffer(10);
        let mut v = TableView::default();
        v.up(&b, 4, 1);
        assert_eq!(v.selected, Some(9));
        v.up(&b, 4, 5);
        let w = v.window(&b, 4);
        assert_eq!((w.start, w.end, w.selected), (4, 8, Some(4)));
    }

    #[test]
    fn the_view_stays_put_while_new_flows_arrive() {
        let mut b = buffer(10);
        let mut v = TableView::default();
        v.up(&b, 4, 3);
        let before = v.window(&b, 4);
        b.push(Box::new(Flow::default()));
        assert_eq!(v.window(&b, 4), before);
    }

    #[test]
    fn a_selection_evicted_from_the_buffer_clamps_to_the_oldest_flow() {
        let mut b = FlowBuffer::new(5);
        (0..5).for_each(|_| b.push(Box::new(Flow::default())));
        let mut v = TableView::default();
        v.home(&b, 3);
        (0..3).for_each(|_| b.push(Box::new(Flow::default())));
        assert_eq!(v.window(&b, 3).selected, Some(3));
        assert_eq!(TableView::default().window(&FlowBuffer::new(3), 3).end, 0);
    }
}
