//! The drops/s sparkline: one bar per second over the width of its box, newest on the
//! right, with the peak in the title.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, RenderDirection, Sparkline};

use crate::app::App;
use crate::theme;
use observe_describe::numbers::thousands;

/// Draws the sparkline into `area` (nothing when it is empty).
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    if area.is_empty() {
        return;
    }
    let seconds = usize::from(area.width.saturating_sub(2));
    // Newest first, drawn from the right edge leftwards, so "now" is always on the right.
    let mut data = app.rates.drops_history(seconds);
    data.reverse();
    let peak = data.iter().copied().max().unwrap_or(0);
    let block = Block::bordered()
        .border_style(theme::border())
        .title(format!(" drops/s · {seconds}s · peak {} ", thousands(peak)));
    let sparkline = Sparkline::default()
        .block(block)
        .data(&data)
        .direction(RenderDirection::RightToLeft)
        .style(theme::drop_row());
    frame.render_widget(sparkline, area);
}
