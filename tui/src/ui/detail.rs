//! The detail pane of the selected flow: why policy decided (the denying rule, or the
//! policies selecting the endpoint with no rule allowing the peer), the commands that
//! reproduce it, then every set field.

use observe_proto::flow::Flow;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::app::App;
use crate::theme;
use observe_describe::{drop_reason, fields, policy, reason, reproduce, verdict};

/// Widest field-path column; longer paths push their value right.
const MAX_KEY_WIDTH: usize = 44;

/// Draws the detail pane into `area`.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let block = Block::bordered()
        .border_style(theme::border())
        .title(Line::from(vec![
            Span::styled(" Flow detail ", theme::strong()),
            Span::styled(
                "· ↑↓ other flows · PgUp/PgDn scroll · esc closes ",
                theme::dim(),
            ),
        ]));
    let lines = app.detail_flow().map(lines).unwrap_or_default();
    let last = u16::try_from(lines.len().saturating_sub(1)).unwrap_or(u16::MAX);
    let scroll = app.detail.scroll.min(last);
    let text = Paragraph::new(lines)
        .block(block)
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0));
    frame.render_widget(text, area);
}

fn lines(flow: &Flow) -> Vec<Line<'static>> {
    let mut out = why(flow);
    out.extend(reproduce_lines(flow));
    out.extend(field_lines(flow));
    out
}

fn heading(title: &'static str, rest: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(title, theme::column_header()),
        Span::raw(rest),
    ])
}

fn why(flow: &Flow) -> Vec<Line<'static>> {
    let mut verdict = format!("  {}", verdict::verdict_word(flow));
    if verdict::is_drop(flow) {
        let code = drop_reason::drop_code(flow);
        verdict.push_str(&format!(
            " · {} ({code} {})",
            drop_reason::drop_text(code),
            drop_reason::drop_name(code)
        ));
    }
    verdict.push_str(&format!(" · {}", reason::direction(flow)));
    let e = policy::explain(flow);
    let headline_style = if verdict::is_drop(flow) {
        theme::bad()
    } else {
        theme::ok()
    };
    let mut out = vec![
        heading("Why", verdict),
        Line::styled(format!(" {}", e.headline), headline_style),
    ];
    out.extend(
        e.items
            .into_iter()
            .map(|item| Line::raw(format!("   • {item}"))),
    );
    if let Some(hint) = e.hint {
        out.push(Line::styled(format!("   → {hint}"), theme::warn()));
    }
    if let Some((staged, why)) = observe_describe::staged::staged(flow) {
        let why = if why.is_empty() {
            why
        } else {
            format!(" · {why}")
        };
        out.push(Line::from(vec![
            Span::raw(" Staged: "),
            Span::styled(staged.as_str_name(), theme::verdict(staged)),
            Span::raw(why),
        ]));
    }
    out
}

fn reproduce_lines(flow: &Flow) -> Vec<Line<'static>> {
    let mut out = vec![Line::raw(""), heading("Reproduce", String::new())];
    let commands = [
        reproduce::trace_command(flow),
        Some(reproduce::flows_command(flow)),
    ];
    out.extend(
        commands
            .into_iter()
            .flatten()
            .map(|cmd| Line::from(vec![Span::styled("   $ ", theme::dim()), Span::raw(cmd)])),
    );
    out
}

fn field_lines(flow: &Flow) -> Vec<Line<'static>> {
    let mut out = vec![Line::raw(""), heading("Fields", String::new())];
    let fields = fields::fields(flow);
    let width = fields
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        .min(MAX_KEY_WIDTH);
    out.extend(fields.into_iter().map(|(key, value)| {
        Line::from(vec![
            Span::styled(format!("   {key:<width$} "), theme::dim()),
            Span::raw(value),
        ])
    }));
    out
}
