//! Fitting text into table columns: a cell cut short ends in `…`, so a truncated pod or
//! policy name never passes for a complete one.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Span;

/// The widths ratatui's `Table` gives `constraints` in `width` cells with one cell
/// between columns (its own algorithm, so the cut matches what is drawn).
pub fn column_widths(constraints: &[Constraint], width: u16) -> Vec<u16> {
    Layout::horizontal(constraints.iter().copied())
        .flex(Flex::Start)
        .spacing(1)
        .split(Rect::new(0, 0, width, 1))
        .iter()
        .map(|r| r.width)
        .collect()
}

/// `text` cut to `width` cells, ending in `…` when cut.
pub fn fit(text: String, width: u16) -> String {
    let width = usize::from(width);
    if Span::raw(text.as_str()).width() <= width {
        return text;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = Span::raw(c.to_string()).width();
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_does_not_fit_ends_in_an_ellipsis() {
        assert_eq!(fit("shop/frontend".into(), 8), "shop/fr…");
        assert_eq!(fit("shop".into(), 8), "shop");
        assert_eq!(fit("shop".into(), 0), "");
        assert_eq!(fit("名前名前".into(), 5), "名前…");
    }

    #[test]
    fn column_widths_add_up_like_the_table_draws_them() {
        let w = column_widths(
            &[
                Constraint::Length(4),
                Constraint::Fill(1),
                Constraint::Fill(1),
            ],
            21,
        );
        assert_eq!(w, vec![4, 8, 7]);
    }
}
