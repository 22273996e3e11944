//! Styled text: printers build lines from spans of plain or colored text, and only
//! [`Styled::render`] adds escape sequences, after sanitizing every span. Flow-supplied
//! strings (pod names, DNS names, summaries, policy names) therefore can never inject
//! terminal escapes or fake line breaks, whatever a printer forgets.
//!
//! Colors are Hubble's: hosts cyan, ports yellow, identities magenta, FORWARDED green,
//! DROPPED and ERROR red, AUDIT, TRACED and TRANSLATED yellow.

use std::borrow::Cow;
use std::fmt::Write as _;

use observe_tui::describe::sanitize::needs_escape;

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
            let text = sanitize(text);
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

/// Replaces control characters so text cannot move the cursor, change colors or start a
/// new line: ESC becomes `^[` (as Hubble prints it), CR, LF and TAB become `\r`, `\n`,
/// `\t`, any other control character (C0, DEL, C1) and every bidirectional override
/// (which could reorder what a line appears to say) `\u{..}`.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\x1b' => out.push_str("^["),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
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
    fn bidirectional_overrides_are_escaped() {
        assert_eq!(sanitize("pod\u{202e}gnp.exe"), "pod\\u{202e}gnp.exe");
        assert_eq!(sanitize("plain é"), "plain é");
    }

    #[test]
    fn colors_only_when_asked() {
        let mut s = Styled::new();
        s.colored(Color::Red, "DROPPED")
            .plain("")
            .colored(Color::Plain, " x");
        assert_eq!(s.render(false), "DROPPED x");
        assert_eq!(s.render(true), "\x1b[31mDROPPED\x1b[0m x");
        assert_eq!(sanitize("plain"), Cow::Borrowed("plain"));
    }
}
