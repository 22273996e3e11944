//! Taking over the terminal and giving it back: raw mode and the alternate screen on
//! entry; on exit, on error and on panic, the terminal is restored so the user's shell is
//! never left in raw mode.
//!
//! Restoring is idempotent, so the guard's `Drop`, the panic hook and an explicit call
//! may all run.

use std::io::{self, Stdout, stdout};
use std::sync::Once;

use crossterm::cursor::Show;
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// The terminal, restored when dropped.
pub struct TerminalGuard {
    /// The ratatui terminal to draw on.
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

/// Enters raw mode and the alternate screen, after installing the panic hook.
///
/// # Errors
///
/// When stdout is not a terminal or the terminal refuses the mode changes; the terminal
/// is restored before returning.
pub fn enter() -> io::Result<TerminalGuard> {
    install_panic_hook();
    let setup = || -> io::Result<Terminal<CrosstermBackend<Stdout>>> {
        enable_raw_mode()?;
        execute!(stdout(), EnterAlternateScreen)?;
        Terminal::new(CrosstermBackend::new(stdout()))
    };
    setup()
        .map(|terminal| TerminalGuard { terminal })
        .inspect_err(|_| restore())
}

/// Leaves the alternate screen and raw mode, and shows the cursor; errors are ignored
/// because there is nothing better to do with them while exiting.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(stdout(), LeaveAlternateScreen, Show);
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Restores the terminal before the default hook prints the panic, so the message lands
/// on the normal screen and the shell is usable afterwards. Installed once per process.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
