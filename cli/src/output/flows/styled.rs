//! Styled text: printers build lines from spans of plain or colored text, and only
//! [`Styled::render`] adds escape sequences, after sanitizing every span
//! (`observe_describe::sanitize::one_line`). Flow-supplied strings (pod names, DNS names,
//! summaries, policy names) therefore can never inject terminal escapes or fake line
//! breaks, whatever a printer forgets.
//!
//! Colors are Hubble's: hosts cyan, ports yellow, identities magenta, FORWARDED green,
//! DROPPED and ERROR red, AUDIT, TRACED and TRANSLATED yellow.

use std::borrow::Cow;

use observe_describe::sanitize::one_line;

/// A foreground color (ANSI SGR codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    /// No color.
    Plain,
    /// 31.
    Red,
    /// 32.
    Green,
    /// 33.
    Yellow,
    /// 35.
    Magenta,
    /// 36.
    Cyan,
}

impl Color {
    fn code(self) -> Option<&'static str> {
        match self {
            Color::Plain => None,
            Color::Red => Some("\x1b[31m"),
            Color::Green => Some("\x1b[32m"),
            Color::Yellow => Some("\x1b[33m"),
            Color::Magenta => Some("\x1b[35m"),
            Color::Cyan => Some("\x1b[36m"),
        }
    }
}

const RESET: &str = "\x1b[0m";

/// A sequence of spans: their text in one buffer, and where each ends with its color.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Styled {
    text: String,
    /// (color, end of the span in `text`); a span starts where the previous one ended.
    spans: Vec<(Color, usize)>,
}

impl Styled {
    /// Empty text.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the text, keeping its buffers (a printer reuses one for every line).
    pub fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
    }

    /// Appends plain text.
    pub fn plain(&mut self, text: impl AsRef<str>) -> &mut Self {
        self.colored(Color::Plain, text)
    }

    /// Appends text in `color`.
    pub fn colored(&mut self, color: Color, text: impl AsRef<str>) -> &mut Self {
        self.colored_with(color, |out| out.push_str(text.as_ref()))
    }

    /// Appends a span in `color` that `write` writes (nothing if it writes nothing).
    pub fn colored_with(&mut self, color: Color, write: impl FnOnce(&mut String)) -> &mut Self {
        let start = self.text.len();
        write(&mut self.text);
        if self.text.len() > start {
            self.spans.push((color, self.text.len()));
        }
        self
    }

    /// Appends all spans of `other`.
    pub fn append(&mut self, other: Styled) -> &mut Self {
        let offset = self.text.len();
        self.text.push_str(&other.text);
        self.spans.extend(
            other
                .spans
                .iter()
                .map(|&(color, end)| (color, end + offset)),
        );
        self
    }

    /// The text, sanitized, with escape sequences when `color` is on.
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        self.render_into(color, &mut out);
        out
    }

    /// [`Styled::render`] appended to `out`. Sanitizing works character by character, so
    /// without colors the spans are sanitized at once.
    pub fn render_into(&self, color: bool, out: &mut String) {
        if !color {
            out.push_str(&sanitized(&self.text));
            return;
        }
        let mut start = 0;
        for &(c, end) in &self.spans {
            let text = sanitized(self.text.get(start..end).unwrap_or_default());
            start = end;
            match c.code() {
                Some(code) => {
                    out.push_str(code);
                    out.push_str(&text);
                    out.push_str(RESET);
                }
                None => out.push_str(&text),
            }
        }
    }
}

/// `one_line(text)`, without looking at each character when all are printable ASCII
/// (which `one_line` leaves as they are).
fn sanitized(text: &str) -> Cow<'_, str> {
    let printable = text
        .bytes()
        .fold(true, |all, b| all & (b' '..=b'~').contains(&b));
    if printable {
        Cow::Borrowed(text)
    } else {
        one_line(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_neutralized_in_every_span() {
        let mut s = Styled::new();
        s.colored(Color::Cyan, "evil\x1b[2Jpod")
            .plain(" line\nbreak\r\u{9b}31m\x07");
        assert_eq!(
            s.render(false),
            "evil^[[2Jpod line\\nbreak\\r\\u{9b}31m\\u{7}"
        );
        assert_eq!(
            s.render(true),
            "\x1b[36mevil^[[2Jpod\x1b[0m line\\nbreak\\r\\u{9b}31m\\u{7}"
        );
    }

    #[test]
    fn colors_only_when_asked() {
        let mut s = Styled::new();
        s.colored(Color::Red, "DROPPED")
            .plain("")
            .colored(Color::Plain, " x");
        assert_eq!(s.render(false), "DROPPED x");
        assert_eq!(s.render(true), "\x1b[31mDROPPED\x1b[0m x");
    }
}
