//! Colours and emphasis in one place: verdicts (Hubble's `--color` choices: FORWARDED
//! green, DROPPED and ERROR red, AUDIT, TRACED and TRANSLATED yellow), connection states,
//! losses, and the chrome.

use observe_proto::flow::Verdict;
use ratatui::style::{Color, Modifier, Style};

/// The style of a verdict.
pub fn verdict(v: Verdict) -> Style {
    let color = match v {
        Verdict::Forwarded => Color::Green,
        Verdict::Dropped | Verdict::Error => Color::Red,
        Verdict::Audit | Verdict::Traced | Verdict::Translated => Color::Yellow,
        Verdict::Redirected => Color::Cyan,
        Verdict::Unknown => Color::Gray,
    };
    Style::new().fg(color)
}

/// A whole row of a dropped flow.
pub fn drop_row() -> Style {
    Style::new().fg(Color::LightRed)
}

/// The selected row.
pub fn selected() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

/// Headings, titles and keys in hints.
pub fn strong() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

/// Secondary text.
pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// Good news (connected, nothing lost).
pub fn ok() -> Style {
    Style::new().fg(Color::Green)
}

/// Bad news happening now.
pub fn bad() -> Style {
    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
}

/// Something to look at (losses in the past, reconnecting, paused).
pub fn warn() -> Style {
    Style::new().fg(Color::Yellow)
}

/// Borders of the focused area.
pub fn border() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// Column headers.
pub fn column_header() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}
