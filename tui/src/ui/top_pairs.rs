//! The top dropped pairs: source → destination:port, how many drops, and why (the
//! policy behind them, or the datapath's reason when no policy was involved). The first
//! place to look when "this call fails".

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::app::App;
use crate::state::drops::{Pair, PairStats};
use crate::theme;
use observe_describe::numbers::thousands;

use super::fit;

const CONSTRAINTS: [Constraint; 3] = [
    Constraint::Fill(1),
    Constraint::Length(7),
    Constraint::Fill(1),
];

/// Draws the panel into `area` (inside the panel border).
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let top = app
        .drops
        .top_pairs(usize::from(area.height.saturating_sub(1)));
    if top.is_empty() {
        let text = Line::styled(" No drops since the stream started.", theme::dim());
        frame.render_widget(Paragraph::new(text), area);
        return;
    }
    let header = Row::new(["SOURCE → DESTINATION", "DROPS", "WHY"]).style(theme::column_header());
    let widths = fit::column_widths(&CONSTRAINTS, area.width);
    let rows = top
        .into_iter()
        .map(|(pair, stats)| row(pair, stats, &widths));
    frame.render_widget(
        Table::new(rows, CONSTRAINTS)
            .header(header)
            .column_spacing(1),
        area,
    );
}

fn row(pair: &Pair, stats: &PairStats, widths: &[u16]) -> Row<'static> {
    let target = if pair.port.is_empty() {
        pair.destination.clone()
    } else {
        format!("{}:{}", pair.destination, pair.port)
    };
    let why = if stats.policy.is_empty() {
        pair.reason.clone()
    } else {
        stats.policy.clone()
    };
    let width = |i: usize| widths.get(i).copied().unwrap_or(0);
    Row::new(vec![
        Cell::from(fit::fit(format!("{} → {target}", pair.source), width(0))),
        Cell::from(Line::from(thousands(stats.count)).right_aligned()),
        Cell::from(fit::fit(why, width(2))),
    ])
    .style(theme::drop_row())
}
