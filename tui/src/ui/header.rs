//! The header: where we are connected and how (or why not), the rates, the agent's ring
//! occupancy, the filter in force, pause state, and lost events per source with what
//! they mean and which setting to change.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::App;
use crate::state::connection::Connection;
use crate::state::losses::LossSource;
use crate::theme;
use observe_describe::numbers::{compact, percent, thousands};

const SEP: &str = " │ ";

/// Draws the header into `area`.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let mut lines = vec![connection_line(app)];
    lines.extend(reconnect_reason(app));
    lines.push(view_line(app));
    lines.push(losses_line(app));
    lines.extend(advice_lines(app));
    frame.render_widget(Paragraph::new(lines), area);
}

/// Where we are connected, how, and the agent's ring.
fn connection_line(app: &App) -> Line<'static> {
    let mut spans = vec![
        Span::styled(" observe ", theme::strong()),
        Span::styled(app.server.clone(), theme::dim()),
        Span::raw(SEP),
        connection_span(&app.connection),
        Span::raw(SEP),
    ];
    spans.extend(agent_spans(app));
    Line::from(spans)
}

fn connection_span(connection: &Connection) -> Span<'static> {
    match connection {
        Connection::Connecting => Span::styled("◌ connecting…", theme::warn()),
        Connection::Connected => Span::styled("● connected", theme::ok()),
        Connection::Reconnecting { attempts, .. } => Span::styled(
            format!("✗ disconnected, reconnecting (attempt {attempts})"),
            theme::bad(),
        ),
    }
}

/// Why the stream is down, on its own line so it is never cut short by the rest.
fn reconnect_reason(app: &App) -> Option<Line<'static>> {
    let Connection::Reconnecting { reason, .. } = &app.connection else {
        return None;
    };
    Some(Line::from(vec![
        Span::styled("   ↳ ", theme::bad()),
        Span::raw(format!("retrying with backoff; last error: {reason}")),
    ]))
}

fn agent_spans(app: &App) -> Vec<Span<'static>> {
    let agent = &app.agent;
    if !agent.known {
        return vec![Span::styled("agent status unknown", theme::dim())];
    }
    let mut text = String::from(if agent.is_relay() { "relay" } else { "agent" });
    if !agent.version.is_empty() && !agent.version.starts_with("observe-relay") {
        text.push_str(&format!(" {}", agent.version));
    }
    text.push_str(&format!(
        ": ring {}/{} ({}%), {} flows/s",
        thousands(agent.num_flows),
        thousands(agent.max_flows),
        percent(agent.num_flows, agent.max_flows),
        compact(agent.flows_rate.max(0.0) as u64),
    ));
    let mut spans = match agent.error {
        Some(_) => vec![Span::styled(format!("{text} (stale)"), theme::warn())],
        None => vec![Span::raw(text)],
    };
    spans.extend(nodes_span(app));
    spans
}

/// A relay's nodes: how many it reads, and which it cannot.
fn nodes_span(app: &App) -> Option<Span<'static>> {
    let nodes = app.agent.nodes.as_ref()?;
    let total = nodes.connected + nodes.unavailable;
    let mut text = format!(", nodes {}/{total}", nodes.connected);
    if nodes.unavailable == 0 {
        return Some(Span::styled(text, theme::ok()));
    }
    text.push_str(&format!(
        " ({} unavailable)",
        nodes.unavailable_names.join(", ")
    ));
    Some(Span::styled(text, theme::bad()))
}

/// What this view receives: rates, pause state, the filter.
fn view_line(app: &App) -> Line<'static> {
    let drops = app.rates.drops_per_second;
    let mut spans = vec![
        Span::raw(format!(
            " this view: {} flows/s, ",
            thousands(app.rates.flows_per_second)
        )),
        Span::styled(
            format!("{} drops/s", thousands(drops)),
            if drops > 0 { theme::bad() } else { theme::ok() },
        ),
    ];
    if app.pause.is_paused() {
        spans.push(Span::raw(SEP));
        let held = thousands(app.pause.arrived());
        spans.push(Span::styled(format!("PAUSED +{held} new"), theme::warn()));
    }
    spans.push(Span::raw(SEP));
    spans.push(filter_span(app));
    Line::from(spans)
}

fn filter_span(app: &App) -> Span<'static> {
    let line = &app.filter.active.line;
    if line.is_empty() {
        Span::styled("filter: none (/ to set)", theme::dim())
    } else {
        Span::styled(format!("filter: {line}"), theme::strong())
    }
}

fn losses_line(app: &App) -> Line<'static> {
    let mut spans = vec![Span::raw(" lost: ")];
    if app.losses.lossy().next().is_none() {
        spans.push(Span::styled("none", theme::ok()));
        return Line::from(spans);
    }
    for (i, source) in LossSource::ALL.into_iter().enumerate() {
        let count = app.losses.get(source);
        if i > 0 {
            spans.push(Span::raw(SEP));
        }
        let style = match (count.total(), count.per_second) {
            (0, _) => theme::dim(),
            (_, 0) => theme::warn(),
            _ => theme::bad(),
        };
        let mut text = format!("{} {}", source.label(), thousands(count.total()));
        if count.per_second > 0 {
            text.push_str(&format!(" (+{}/s)", thousands(count.per_second)));
        }
        if app.agent.is_relay() {
            text.push_str(&per_node(app.losses.by_node(source)));
        }
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}

/// ` [n1 5, n2 2]`: which nodes reported the loss (through a relay).
fn per_node(by_node: &std::collections::BTreeMap<String, u64>) -> String {
    if by_node.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = by_node
        .iter()
        .map(|(node, n)| format!("{node} {}", thousands(*n)))
        .collect();
    format!(" [{}]", parts.join(", "))
}

fn advice_lines(app: &App) -> Vec<Line<'static>> {
    app.losses
        .lossy()
        .take(app.advice_lines())
        .map(|(source, count)| {
            let style = if count.per_second > 0 {
                theme::bad()
            } else {
                theme::warn()
            };
            Line::from(vec![
                Span::styled("   ↳ ", style),
                Span::raw(source.advice()),
            ])
        })
        .collect()
}
