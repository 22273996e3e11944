//! The tabbed panel area: a bordered box whose title lists the panels (the shown one
//! highlighted; `tab` cycles), with the shown panel inside.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;

use crate::app::App;
use crate::state::panels::Panel;
use crate::theme;

use super::{by_policy, by_reason, endpoints, top_pairs};

/// Draws the panel area into `area` (nothing when it is empty).
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    if area.is_empty() {
        return;
    }
    let block = Block::bordered()
        .border_style(theme::border())
        .title(tabs(app.panel));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    match app.panel {
        Panel::TopDrops => top_pairs::render(app, frame, inner),
        Panel::ByReason => by_reason::render(app, frame, inner),
        Panel::ByPolicy => by_policy::render(app, frame, inner),
        Panel::Endpoints => endpoints::render(app, frame, inner),
    }
}

fn tabs(shown: Panel) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for panel in Panel::ALL {
        let style = if panel == shown {
            theme::selected().patch(theme::strong())
        } else {
            theme::dim()
        };
        spans.push(Span::styled(format!(" {} ", panel.title()), style));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled("(tab) ", theme::dim()));
    Line::from(spans)
}
