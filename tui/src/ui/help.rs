//! The `?` overlay: every key, and what the header's loss counters mean.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::state::losses::LossSource;
use crate::theme;

const KEYS: [(&str, &str); 14] = [
    (
        "/",
        "edit the filter (flags of observe flows; applied on the agent)",
    ),
    (
        "space",
        "pause / resume (paused: the table freezes, new flows are held)",
    ),
    ("↑ ↓  k j", "select the previous / next flow"),
    (
        "PgUp PgDn",
        "page through flows (in the detail pane: scroll it)",
    ),
    ("Home g", "oldest buffered flow"),
    ("End G", "follow the newest flows again"),
    ("enter", "open the detail pane of the selected flow"),
    (
        "esc",
        "close the detail pane, this help, or the filter editor",
    ),
    (
        "tab shift-tab",
        "cycle the panels: top drops, by reason, by policy, endpoints",
    ),
    ("c", "clear the table and the drop counters"),
    ("?", "toggle this help"),
    ("q  ctrl-c", "quit"),
    ("", ""),
    (
        "lost:",
        "events lost before they reached this screen, per source:",
    ),
];

/// Draws the help overlay centred in `area`.
pub fn render(frame: &mut Frame, area: Rect) {
    let popup = centered(area, 100, 24);
    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!(" {key:<14}"), theme::strong()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.extend(
        LossSource::ALL
            .iter()
            .map(|s| Line::raw(format!("   • {}", s.advice()))),
    );
    let block = Block::bordered()
        .title(Line::styled(" Help · ? or esc closes ", theme::strong()))
        .border_style(theme::border());
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        popup,
    );
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}
