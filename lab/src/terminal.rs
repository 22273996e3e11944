//! A pseudo-terminal for end-to-end tests of full-screen programs: a private tmux server
//! (its own socket) running one command in a window of a given size. Keys go in with
//! `send-keys`, the screen comes back as text with `capture-pane`; the server is killed when
//! the [`Terminal`] is dropped.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// One tmux window running a command.
pub struct Terminal {
    socket: String,
}

impl Terminal {
    /// Whether tmux is installed (`cargo xtask setup` installs it).
    pub fn available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Starts `command` (a shell command line) in a `width`×`height` window; `name` keeps
    /// concurrent terminals of one test process apart.
    pub fn start(name: &str, width: u16, height: u16, command: &str) -> Self {
        let terminal = Self {
            socket: format!("observe-{name}-{}", std::process::id()),
        };
        let (w, h) = (width.to_string(), height.to_string());
        terminal.tmux(&["new-session", "-d", "-s", "t", "-x", &w, "-y", &h, command]);
        terminal
    }

    /// Runs a tmux command against this terminal's server; panics if it fails.
    pub fn tmux(&self, args: &[&str]) -> Output {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Sends named keys (`Enter`, `Up`, `C-c`, `q`, ...).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend(keys);
        self.tmux(&args);
    }

    /// Types `text` literally.
    pub fn text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", "--", text]);
    }

    /// Resizes the window.
    pub fn resize(&self, width: u16, height: u16) {
        let (w, h) = (width.to_string(), height.to_string());
        self.tmux(&["resize-window", "-t", "t", "-x", &w, "-y", &h]);
    }

    /// The screen as text, one line per row.
    pub fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", "t"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits up to `timeout` for the screen to satisfy `ok` and returns it; panics with the
    /// last screen and `what` it waited for otherwise.
    pub fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// [`Terminal::wait_for`] with a 20 s timeout.
    pub fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_for(what, Duration::from_secs(20), ok)
    }
}

/// The rows of a boxed table on a captured screen: the lines after the one containing
/// `header`, up to the box's bottom border, that carry a time (contain `:`).
pub fn table_rows<'a>(screen: &'a str, header: &str) -> Vec<&'a str> {
    screen
        .lines()
        .skip_while(|l| !l.contains(header))
        .skip(1)
        .take_while(|l| !l.starts_with('└'))
        .filter(|l| l.contains(':'))
        .collect()
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}
