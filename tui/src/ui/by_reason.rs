//! Drops by reason: which datapath reasons (Policy denied, denylist, stale IP, ...)
//! account for the drops, most first.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::app::App;

use super::count_bars;

/// Draws the panel into `area` (inside the panel border).
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let top = app
        .drops
        .top_reasons(usize::from(area.height.saturating_sub(1)));
    count_bars::render(frame, area, "REASON", &top);
}
