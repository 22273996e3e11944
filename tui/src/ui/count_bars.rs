//! A ranked list of counts with proportional bars, shared by the by-reason and
//! by-policy panels.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::theme;
use observe_describe::numbers::{percent, thousands};

/// Draws `entries` (most first) under the column title `what` into `area`.
pub fn render(frame: &mut Frame, area: Rect, what: &'static str, entries: &[(&String, &u64)]) {
    if entries.is_empty() {
        let text = Line::styled(" No drops since the stream started.", theme::dim());
        frame.render_widget(Paragraph::new(text), area);
        return;
    }
    let total: u64 = entries.iter().map(|(_, c)| **c).sum();
    let max = entries.first().map_or(1, |(_, c)| **c).max(1);
    let bar_width = u64::from(area.width / 3).max(1);
    let rows = entries.iter().map(|(label, count)| {
        let bar = "█".repeat(
            usize::try_from(**count * bar_width / max)
                .unwrap_or(0)
                .max(1),
        );
        Row::new(vec![
            Cell::from((*label).clone()),
            Cell::from(Line::from(thousands(**count)).right_aligned()),
            Cell::from(Line::from(format!("{}%", percent(**count, total))).right_aligned()),
            Cell::from(bar).style(theme::drop_row()),
        ])
    });
    let header = Row::new([what, "DROPS", "SHARE", ""]).style(theme::column_header());
    let widths = [
        Constraint::Fill(3),
        Constraint::Length(8),
        Constraint::Length(5),
        Constraint::Length(area.width / 3),
    ];
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}
