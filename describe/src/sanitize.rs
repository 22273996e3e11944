//! Neutralizing terminal escape injection: every string that comes from a flow, the
//! control API or a server error passes through this module before it reaches a terminal.
//!
//! A pod name, label, DNS name or HTTP URL is attacker-influenced: an embedded ESC could
//! move the cursor, rewrite the header or change the window title. Like Hubble's
//! `terminalEscaperWriter`, ESC is shown as `^[`, so the user still sees that something odd
//! was there. Which characters are escaped is decided in one place ([`needs_escape`]):
//! control characters (C0, DEL, C1) and the bidirectional overrides (the "Trojan Source"
//! characters), which reorder what is drawn after them. Two notations show them:
//!
//! - [`clean`], for the dashboard: caret notation for C0 and DEL (`^[`, `^M`, `^?`),
//!   `<U+202E>` for the others.
//! - [`one_line`], for line-oriented output (`observe flows`, one event per line): `^[` for
//!   ESC as Hubble prints it, `\r`, `\n`, `\t` so a record never spans two lines and reads
//!   as in a log, `\u{..}` for the others.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `s` for the dashboard: every character [`needs_escape`] names in caret or `<U+..>`
/// notation.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// `clean` into an owned string.
pub fn cleaned(s: &str) -> String {
    clean(s).into_owned()
}

/// Whether `c` must not reach a terminal as is: a control character, or a bidirectional
/// override that could reorder what a line appears to say.
pub fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        // C0 controls and DEL in caret notation: ESC is ^[, NUL is ^@, DEL is ^?.
        '\0'..='\u{1f}' => {
            out.push('^');
            out.push(char::from(c as u8 + 0x40));
        }
        '\u{7f}' => out.push_str("^?"),
        c if needs_escape(c) => out.push_str(&format!("<U+{:04X}>", u32::from(c))),
        c => out.push(c),
    }
}

/// `text` for line-oriented output: ESC becomes `^[`, CR, LF and TAB become `\r`, `\n`,
/// `\t`, any other character [`needs_escape`] names `\u{..}`.
pub fn one_line(text: &str) -> Cow<'_, str> {
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
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            clean("shop/frontend-7d9"),
            Cow::Borrowed("shop/frontend-7d9")
        ));
        assert_eq!(clean("ünïcode ✓ 名前"), "ünïcode ✓ 名前");
    }

    #[test]
    fn escape_sequences_become_visible_caret_notation() {
        assert_eq!(
            clean("evil\u{1b}[2J\u{1b}]0;pwned\u{7}"),
            "evil^[[2J^[]0;pwned^G"
        );
        assert_eq!(clean("a\r\nb\tc\u{7f}"), "a^M^Jb^Ic^?");
    }

    #[test]
    fn c1_controls_and_bidi_overrides_are_escaped() {
        assert_eq!(clean("x\u{9b}31m"), "x<U+009B>31m");
        assert_eq!(clean("admin\u{202E}gpj.exe"), "admin<U+202E>gpj.exe");
    }

    #[test]
    fn one_line_output_keeps_escapes_visible_on_one_line() {
        assert_eq!(
            one_line("evil\x1b[2Jpod line\nbreak\r\u{9b}31m\x07"),
            "evil^[[2Jpod line\\nbreak\\r\\u{9b}31m\\u{7}"
        );
        assert_eq!(one_line("a\tb"), "a\\tb");
    }

    #[test]
    fn bidirectional_overrides_are_escaped_on_one_line() {
        assert_eq!(one_line("pod\u{202e}gnp.exe"), "pod\\u{202e}gnp.exe");
        assert_eq!(one_line("plain é"), "plain é");
        assert!(matches!(one_line("plain"), Cow::Borrowed("plain")));
    }
}
