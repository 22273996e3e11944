//! Drops by policy: which policies (the deny rule's, or those selecting the endpoint for
//! a default deny) are behind the drops, most first.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::app::App;

use super::count_bars;

/// Draws the panel into `area` (inside the panel border).
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let top = app
        .drops
        .top_policies(usize::from(area.height.saturating_sub(1)));
    count_bars::render(frame, area, "POLICY", &top);
}
