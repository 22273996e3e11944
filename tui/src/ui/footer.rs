//! The footer: key hints, or the `/` filter editor with its parse error (the old filter
//! stays in force until a new one parses and the agent accepts it).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::App;
use crate::state::filter_editor::FilterEditor;
use crate::theme;

const PROMPT: &str = " filter ▸ ";

const HINTS: [(&str, &str); 9] = [
    ("/", "filter"),
    ("space", "pause"),
    ("↑↓ PgUp PgDn Home End", "move"),
    ("enter", "detail"),
    ("esc", "close"),
    ("tab", "panel"),
    ("c", "clear"),
    ("?", "help"),
    ("q", "quit"),
];

/// Draws the footer into `area`.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    if app.filter.editing {
        render_editor(&app.filter, frame, area);
    } else {
        frame.render_widget(Paragraph::new(hints()), area);
    }
}

fn hints() -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for (key, what) in HINTS {
        spans.push(Span::styled(key, theme::strong()));
        spans.push(Span::styled(format!(" {what}  "), theme::dim()));
    }
    Line::from(spans)
}

/// What the line under the input says: the parse error, or how to use the editor.
pub fn note(editor: &FilterEditor) -> String {
    match &editor.error {
        Some(error) => format!(" ✗ {error} (the current filter stays in force)"),
        None => " enter applies it on the agent · esc cancels · flags of observe flows, e.g. --verdict DROPPED --to-pod shop/ --not --port 53".into(),
    }
}

/// The input line, scrolled so the cursor stays visible, and the error or a hint below.
pub fn render_editor(editor: &FilterEditor, frame: &mut Frame, area: Rect) {
    let prompt_width = PROMPT.chars().count();
    let room = usize::from(area.width)
        .saturating_sub(prompt_width + 1)
        .max(1);
    let skip = editor.cursor.saturating_sub(room);
    let visible: String = editor.input.chars().skip(skip).take(room).collect();
    let input = Line::from(vec![
        Span::styled(PROMPT, theme::strong()),
        Span::raw(visible),
    ]);
    let style = if editor.error.is_some() {
        theme::bad()
    } else {
        theme::dim()
    };
    let [input_area, note_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let note = Paragraph::new(Line::styled(note(editor), style)).wrap(Wrap { trim: false });
    frame.render_widget(Paragraph::new(input), input_area);
    frame.render_widget(note, note_area);
    let x = area.x as usize + prompt_width + editor.cursor - skip;
    if let Ok(x) = u16::try_from(x)
        && x < area.right()
    {
        frame.set_cursor_position(Position::new(x, area.y));
    }
}
