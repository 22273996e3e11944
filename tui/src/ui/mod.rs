//! Drawing: `render(&App, &mut Frame)` is a pure function of the state. One widget per
//! file, named like its state in `crate::state`; each file turns state into ratatui
//! widgets and draws them into the area `crate::layout` gave it.

mod by_policy;
mod by_reason;
mod count_bars;
mod detail;
mod drop_sparkline;
mod endpoints;
mod fit;
mod flow_table;
mod footer;
mod header;
mod help;
mod panel_tabs;
mod tiny;
mod top_pairs;

use ratatui::Frame;

use crate::app::App;
use crate::layout::Screen;
use crate::state::filter_editor::FilterEditor;

/// The note under the filter input (its error, or a hint); the app sizes the footer by it.
pub fn editor_note(editor: &FilterEditor) -> String {
    footer::note(editor)
}

/// Draws the whole screen for `app`.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    match app.screen_in(area) {
        Screen::Tiny(area) => tiny::render(app, frame, area),
        Screen::Full(areas) => {
            header::render(app, frame, areas.header);
            flow_table::render(app, frame, areas.table);
            if app.detail.open {
                detail::render(app, frame, areas.detail);
            } else {
                panel_tabs::render(app, frame, areas.panels);
                drop_sparkline::render(app, frame, areas.sparkline);
            }
            footer::render(app, frame, areas.footer);
            if app.help {
                help::render(frame, area);
            }
        }
    }
}
