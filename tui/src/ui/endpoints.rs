//! The endpoints panel: each local endpoint with its security identity and whether
//! ingress and egress policy is enforced, from the control API. When the API is not
//! there (a Hubble server, an older agent), the panel says so and nothing else breaks.

use observe_proto::control::Endpoint;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::app::App;
use crate::theme;
use observe_describe::sanitize::cleaned;

/// Draws the panel into `area` (inside the panel border).
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let view = &app.endpoints;
    let mut table_area = area;
    if let Some(error) = &view.error {
        let [note, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        let text = if view.loaded {
            format!(" (stale) cannot refresh endpoints: {error}")
        } else {
            format!(
                " Endpoints unavailable: {error}. The control API is optional; flows still work."
            )
        };
        frame.render_widget(Paragraph::new(Line::styled(text, theme::warn())), note);
        table_area = rest;
    } else if !view.loaded {
        frame.render_widget(
            Paragraph::new(Line::styled(" Loading endpoints…", theme::dim())),
            area,
        );
        return;
    }
    if view.loaded {
        render_table(&view.list, frame, table_area);
    }
}

fn render_table(list: &[Endpoint], frame: &mut Frame, area: Rect) {
    let header = Row::new([
        "ENDPOINT", "ID", "IDENTITY", "INGRESS", "EGRESS", "STATUS", "IPS",
    ])
    .style(theme::column_header());
    let widths = [
        Constraint::Fill(3),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Fill(1),
        Constraint::Fill(2),
    ];
    let rows = list.iter().map(row);
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}

fn row(ep: &Endpoint) -> Row<'static> {
    let status_style = if ep.status == "ready" {
        theme::ok()
    } else {
        theme::bad()
    };
    Row::new(vec![
        Cell::from(cleaned(&format!("{}/{}", ep.namespace, ep.pod))),
        Cell::from(ep.id.to_string()),
        Cell::from(ep.identity.to_string()),
        enforcement(ep.ingress_enforced),
        enforcement(ep.egress_enforced),
        Cell::from(cleaned(&ep.status)).style(status_style),
        Cell::from(cleaned(&ep.ips.join(", "))),
    ])
}

fn enforcement(enforced: bool) -> Cell<'static> {
    if enforced {
        Cell::from("enforced").style(theme::warn())
    } else {
        Cell::from("open").style(theme::dim())
    }
}
