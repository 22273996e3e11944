//! The live flow table: time, source, destination, port/protocol, verdict, reason and
//! policy (while policies are staged, the staged verdict; through a relay, the node),
//! newest at the bottom, coloured by verdict, with the selected row reversed.
//! Only the visible rows are formatted, so the cost per frame does not depend on how
//! many flows are buffered.

use observe_proto::flow::Flow;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use crate::app::App;
use crate::layout;
use crate::state::connection::Connection;
use crate::theme;
use observe_describe::clock::clock;
use observe_describe::names::{self, FlowEnd};
use observe_describe::numbers::thousands;
use observe_describe::{l4, policy, reason, verdict};

use super::fit;

/// The first column marks the selected row with `▶` (besides reverse video), so the
/// selection survives monochrome terminals and text captures.
const HEADER: [&str; 8] = [
    "",
    "TIME (UTC)",
    "SOURCE",
    "DESTINATION",
    "PORT",
    "VERDICT",
    "REASON",
    "POLICY",
];
const WIDTHS: [Constraint; 8] = [
    Constraint::Length(1),
    Constraint::Length(12),
    Constraint::Fill(3),
    Constraint::Fill(3),
    Constraint::Length(9),
    Constraint::Length(9),
    Constraint::Fill(3),
    Constraint::Fill(5),
];
/// The verdict's column, coloured.
const VERDICT_COLUMN: usize = 5;
/// The staged verdict's column, while some flow on screen has one.
const STAGED: (&str, Constraint) = ("STAGED", Constraint::Length(9));
/// The node's column, through a relay (one agent: every flow is its own).
const NODE: (&str, Constraint) = ("NODE", Constraint::Fill(2));

/// Which optional columns the table shows.
#[derive(Clone, Copy)]
struct Extra {
    staged: bool,
    node: bool,
}

impl Extra {
    fn header(self) -> Vec<&'static str> {
        let mut h = HEADER.to_vec();
        h.extend(self.staged.then_some(STAGED.0));
        h.extend(self.node.then_some(NODE.0));
        h
    }

    fn widths(self) -> Vec<Constraint> {
        let mut w = WIDTHS.to_vec();
        w.extend(self.staged.then_some(STAGED.1));
        w.extend(self.node.then_some(NODE.1));
        w
    }
}

/// Draws the table into `area`.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let block = Block::bordered()
        .border_style(theme::border())
        .title(Line::from(title(app)));
    if app.buffer.is_empty() {
        let inner = block.inner(area);
        frame.render_widget(block, area);
        frame.render_widget(empty_message(app), inner);
        return;
    }
    let window = app.table.window(&app.buffer, layout::table_rows(area));
    let extra = Extra {
        staged: app
            .buffer
            .range(window.start, window.end)
            .any(|(_, flow)| flow.staged.is_some()),
        node: app.agent.is_relay(),
    };
    let constraints = extra.widths();
    let widths = fit::column_widths(&constraints, block.inner(area).width);
    let rows = app
        .buffer
        .range(window.start, window.end)
        .map(|(seq, flow)| {
            let selected = Some(seq) == window.selected;
            let row = flow_row(flow, &widths, selected, extra);
            if selected {
                row.style(theme::selected())
            } else {
                row
            }
        });
    let header = Row::new(extra.header()).style(theme::column_header());
    let table = Table::new(rows, constraints)
        .header(header)
        .block(block)
        .column_spacing(1);
    frame.render_widget(table, area);
}

fn title(app: &App) -> Vec<Span<'static>> {
    let mut spans = vec![
        Span::styled(" Flows ", theme::strong()),
        Span::raw(format!(
            "{} of {} buffered",
            thousands(app.buffer.len() as u64),
            thousands(app.buffer.capacity() as u64)
        )),
    ];
    let (text, style) = if app.pause.is_paused() {
        (
            format!("paused, {} new held", thousands(app.pause.arrived())),
            theme::warn(),
        )
    } else if app.table.is_following() {
        ("following".to_string(), theme::dim())
    } else {
        ("selection held (End follows)".to_string(), theme::dim())
    };
    spans.push(Span::raw(" · "));
    spans.push(Span::styled(text, style));
    spans.push(Span::raw(" "));
    spans
}

fn empty_message(app: &App) -> Paragraph<'static> {
    let text = match (&app.connection, app.filter.active.is_empty()) {
        (Connection::Connected, true) => "Connected. Waiting for flows…",
        (Connection::Connected, false) => "Connected. Waiting for flows matching the filter…",
        (Connection::Connecting, _) => "Connecting to the agent…",
        (Connection::Reconnecting { .. }, _) => "Not connected: see the header for why; retrying.",
    };
    Paragraph::new(vec![Line::raw(""), Line::styled(text, theme::dim())])
        .alignment(Alignment::Center)
}

/// One table row of `flow` (the cells of the columns `extra` adds too), each cell fitted
/// to its column's width.
fn flow_row(flow: &Flow, widths: &[u16], selected: bool, extra: Extra) -> Row<'static> {
    let mut texts = vec![
        if selected { "▶" } else { " " }.to_string(),
        clock(flow.time.as_ref()),
        names::name(flow, FlowEnd::Source),
        names::name(flow, FlowEnd::Destination),
        l4::of(flow).port_protocol(),
        verdict::verdict_word(flow).to_string(),
        reason::reason(flow),
        policy::summary(flow),
    ];
    let staged = flow.staged.as_ref().map(|s| s.verdict());
    if extra.staged {
        texts.push(staged.map_or(String::new(), |v| v.as_str_name().to_string()));
    }
    if extra.node {
        texts.push(observe_describe::sanitize::cleaned(&flow.node_name));
    }
    let mut cells: Vec<Cell> = texts
        .into_iter()
        .zip(widths.iter().chain(std::iter::repeat(&0)))
        .map(|(text, width)| Cell::from(fit::fit(text, *width)))
        .collect();
    cells[VERDICT_COLUMN] = cells[VERDICT_COLUMN]
        .clone()
        .style(theme::verdict(flow.verdict()));
    if let (true, Some(v)) = (extra.staged, staged) {
        let column = HEADER.len();
        cells[column] = cells[column].clone().style(theme::verdict(v));
    }
    let row = Row::new(cells);
    if verdict::is_drop(flow) {
        row.style(theme::drop_row())
    } else {
        row
    }
}
