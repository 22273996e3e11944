//! Screen helpers for snapshot tests: an app drawn on a `TestBackend`, its text with the
//! styles removed, and golden files under `tests/snapshots/` (set `UPDATE_GOLDEN=1` to
//! rewrite them after an intended change, then review the diff).

use std::path::PathBuf;

use observe_tui::app::App;
use observe_tui::msg::Msg;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Style;

/// Draws `app` on a `width` × `height` test terminal (after telling it the size).
pub fn draw(app: &mut App, width: u16, height: u16) -> Buffer {
    app.update(Msg::Resize(width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal
        .draw(|frame| observe_tui::ui::render(app, frame))
        .expect("draws");
    terminal.backend().buffer().clone()
}

/// `buffer` with every style reset, to compare text alone.
pub fn unstyled(buffer: &Buffer) -> Buffer {
    let mut plain = buffer.clone();
    plain.set_style(plain.area, Style::reset());
    plain
}

/// The lines of `buffer`, trailing spaces kept (a wide character's continuation cell
/// contributes nothing).
pub fn lines(buffer: &Buffer) -> Vec<String> {
    let area = buffer.area;
    (area.top()..area.bottom())
        .map(|y| {
            (area.left()..area.right())
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

/// Compares `buffer`'s text with the golden file `tests/snapshots/{name}.txt`, as
/// `Buffer::with_lines` buffers so a failure prints ratatui's cell diff.
pub fn assert_snapshot(name: &str, buffer: &Buffer) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.txt"));
    let actual = lines(buffer);
    let Some(golden) = lab::golden::expected(&path, &(actual.join("\n") + "\n")) else {
        return;
    };
    let expected = Buffer::with_lines(golden.lines());
    assert_eq!(
        unstyled(buffer),
        expected,
        "snapshot {name} differs (UPDATE_GOLDEN=1 rewrites it)"
    );
}
