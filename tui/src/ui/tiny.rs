//! The minimal view for terminals too small for the dashboard: one status line, then one
//! compact line per flow (or the filter editor, or a one-line help). Every width and
//! height down to 1×1 draws something sensible and nothing panics.

use observe_proto::flow::Flow;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::App;
use crate::state::connection::Connection;
use crate::theme;
use observe_describe::clock::clock;
use observe_describe::names::{self, FlowEnd};
use observe_describe::numbers::compact;
use observe_describe::{l4, verdict};

use super::footer;

/// Draws the minimal view into `area`.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    if area.is_empty() {
        return;
    }
    let [status, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new(status_line(app)), status);
    if app.filter.editing {
        footer::render_editor(&app.filter, frame, body);
    } else if app.help {
        let help = Line::styled(
            "q quit · / filter · space pause · ↑↓ move · enter detail · esc back",
            theme::dim(),
        );
        frame.render_widget(Paragraph::new(help), body);
    } else {
        frame.render_widget(Paragraph::new(flow_lines(app, body)), body);
    }
}

fn status_line(app: &App) -> Line<'static> {
    let (mark, style) = match app.connection {
        Connection::Connected => ("●", theme::ok()),
        Connection::Connecting => ("◌", theme::warn()),
        Connection::Reconnecting { .. } => ("✗", theme::bad()),
    };
    let mut text = format!(
        " {} flows/s {} drops/s",
        compact(app.rates.flows_per_second),
        compact(app.rates.drops_per_second)
    );
    if app.pause.is_paused() {
        text.push_str(" PAUSED");
    }
    let lost: u64 = app.losses.lossy().map(|(_, c)| c.total()).sum();
    if lost > 0 {
        text.push_str(&format!(" lost {}", compact(lost)));
    }
    Line::from(vec![
        Span::styled(mark, style),
        Span::raw(text),
        Span::styled(" (enlarge for more)", theme::dim()),
    ])
}

fn flow_lines(app: &App, area: Rect) -> Vec<Line<'static>> {
    let window = app.table.window(&app.buffer, usize::from(area.height));
    app.buffer
        .range(window.start, window.end)
        .map(|(seq, flow)| {
            let line = flow_line(flow);
            if Some(seq) == window.selected {
                line.style(theme::selected())
            } else {
                line
            }
        })
        .collect()
}

fn flow_line(flow: &Flow) -> Line<'static> {
    let time = clock(flow.time.as_ref());
    let port = l4::of(flow).port_protocol();
    Line::from(vec![
        Span::raw(format!("{} ", time.get(..8).unwrap_or(&time))),
        Span::styled(
            format!("{:<9} ", verdict::verdict_word(flow)),
            theme::verdict(flow.verdict()),
        ),
        Span::raw(format!(
            "{} → {} {port}",
            names::name(flow, FlowEnd::Source),
            names::name(flow, FlowEnd::Destination)
        )),
    ])
}
