//! Styled text: printers build lines from spans of plain or colored text, and only
//! [`Styled::render`] adds escape sequences, after sanitizing every span
//! (`observe_describe::sanitize::one_line`). Flow-supplied strings (pod names, DNS names,
//! summaries, policy names) therefore can never inject terminal escapes or fake line
//! breaks, whatever a printer forgets.
//!
//! Colors are Hubble's: hosts cyan, ports yellow, identities magenta, FORWARDED green,
//! DROPPED and ERROR red, AUDIT, TRACED and TRANSLATED yellow.

use std::fmt::Write as _;

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

/// A sequence of spans.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Styled {
    spans: Vec<(Color, String)>,
}

impl Styled {
    /// Empty text.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends plain text.
    pub fn plain(&mut self, text: impl Into<String>) -> &mut Self {
        self.colored(Color::Plain, text)
    }

    /// Appends text in `color`.
    pub fn colored(&mut self, color: Color, text: impl Into<String>) -> &mut Self {
        let text = text.into();
        if !text.is_empty() {
            self.spans.push((color, text));
        }
        self
    }

    /// Appends all spans of `other`.
    pub fn append(&mut self, other: Styled) -> &mut Self {
        self.spans.extend(other.spans);
        self
    }

    /// The text, sanitized, with escape sequences when `color` is on.
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for (c, text) in &self.spans {
            let text = one_line(text);
            match c.code().filter(|_| color) {
                Some(code) => {
                    let _ = write!(out, "{code}{text}{RESET}");
                }
                None => out.push_str(&text),
            }
        }
        out
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
