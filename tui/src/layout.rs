//! Screen geometry: where each widget goes for a terminal size and what is shown. Pure
//! arithmetic shared by drawing (`crate::ui`) and by the app, which needs the table's
//! height to page and to keep the selection visible.
//!
//! Below [`MIN_WIDTH`] × [`MIN_HEIGHT`] the app degrades to a minimal view (a status line
//! and compact flow lines) instead of squeezing borders into nothing.

use ratatui::layout::{Constraint, Layout, Rect};

/// Narrowest terminal that gets the full layout.
pub const MIN_WIDTH: u16 = 60;
/// Shortest terminal that gets the full layout.
pub const MIN_HEIGHT: u16 = 12;
/// Width of the drops/s sparkline next to the panels, when the terminal is wide enough.
const SPARKLINE_WIDTH: u16 = 26;

/// What the screen shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// The minimal view: a status line over compact flow lines.
    Tiny(Rect),
    /// The full dashboard.
    Full(Areas),
}

/// The areas of the full dashboard; unused ones are zero-sized.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    /// Connection, rates, ring, filter, losses.
    pub header: Rect,
    /// The flow table (with its border).
    pub table: Rect,
    /// The detail pane of the selected flow.
    pub detail: Rect,
    /// The tabbed panels.
    pub panels: Rect,
    /// The drops/s sparkline.
    pub sparkline: Rect,
    /// Key hints or the filter editor.
    pub footer: Rect,
}

/// What decides the layout besides the size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Lines of the header.
    pub header_lines: u16,
    /// Lines of the footer.
    pub footer_lines: u16,
    /// Whether the detail pane is open.
    pub detail_open: bool,
}

/// The layout of `area`.
pub fn screen(area: Rect, shape: Shape) -> Screen {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return Screen::Tiny(area);
    }
    let [header, middle, footer] = Layout::vertical([
        Constraint::Length(shape.header_lines),
        Constraint::Min(0),
        Constraint::Length(shape.footer_lines),
    ])
    .areas(area);
    let mut areas = Areas {
        header,
        footer,
        ..Areas::default()
    };
    if shape.detail_open {
        split_detail(&mut areas, middle);
    } else {
        split_panels(&mut areas, middle);
    }
    Screen::Full(areas)
}

/// Table on top (a third, at least 6 lines), the detail below it.
fn split_detail(areas: &mut Areas, middle: Rect) {
    let table = (middle.height / 3).max(6).min(middle.height);
    [areas.table, areas.detail] =
        Layout::vertical([Constraint::Length(table), Constraint::Min(0)]).areas(middle);
}

/// Table on top, panels below when there is room for both.
fn split_panels(areas: &mut Areas, middle: Rect) {
    if middle.height < 16 {
        areas.table = middle;
        return;
    }
    let panels = (middle.height / 3).clamp(7, 12);
    let [table, bottom] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(panels)]).areas(middle);
    areas.table = table;
    if bottom.width >= 100 {
        [areas.panels, areas.sparkline] =
            Layout::horizontal([Constraint::Min(0), Constraint::Length(SPARKLINE_WIDTH)])
                .areas(bottom);
    } else {
        areas.panels = bottom;
    }
}

/// Flow rows that fit in the table area (its border and column header excluded).
pub fn table_rows(table: Rect) -> usize {
    usize::from(table.height.saturating_sub(3))
}

/// Flow lines of the minimal view (its status line excluded).
pub fn tiny_rows(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: Shape = Shape {
        header_lines: 2,
        footer_lines: 1,
        detail_open: false,
    };

    #[test]
    fn a_large_terminal_gets_table_panels_and_sparkline() {
        let Screen::Full(a) = screen(Rect::new(0, 0, 120, 40), SHAPE) else {
            panic!("full")
        };
        assert_eq!((a.header.height, a.footer.height), (2, 1));
        assert_eq!(a.table.height + a.panels.height, 37);
        assert_eq!(a.sparkline.width, SPARKLINE_WIDTH);
        assert_eq!(table_rows(a.table), usize::from(a.table.height) - 3);
    }

    #[test]
    fn the_detail_pane_replaces_the_panels() {
        let shape = Shape {
            detail_open: true,
            ..SHAPE
        };
        let Screen::Full(a) = screen(Rect::new(0, 0, 80, 30), shape) else {
            panic!("full")
        };
        assert!(a.detail.height > a.table.height && a.panels.is_empty());
    }

    #[test]
    fn small_terminals_get_the_minimal_view() {
        assert_eq!(
            screen(Rect::new(0, 0, 59, 40), SHAPE),
            Screen::Tiny(Rect::new(0, 0, 59, 40))
        );
        assert!(matches!(
            screen(Rect::new(0, 0, 1, 1), SHAPE),
            Screen::Tiny(_)
        ));
        assert_eq!(tiny_rows(Rect::new(0, 0, 1, 1)), 0);
    }
}
