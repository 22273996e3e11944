//! What each key does, per mode: the filter editor takes text, the help overlay waits to
//! be closed, and the dashboard navigates. `Ctrl-C` quits from anywhere; `q` quits except
//! while typing a filter (where it is a letter).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::app::App;
use crate::layout::Screen;
use crate::msg::Cmd;
use crate::state::filter_editor::EditOutcome;
use crate::state::flow_buffer::FlowBuffer;
use crate::state::flow_table::TableView;

impl App {
    /// Handles a key press.
    pub(crate) fn on_key(&mut self, key: KeyEvent) -> Option<Cmd> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            return Some(Cmd::Quit);
        }
        if self.filter.editing {
            return self.on_editor_key(key.code, ctrl);
        }
        if self.help {
            return self.on_help_key(key.code);
        }
        self.on_dashboard_key(key.code)
    }

    fn on_editor_key(&mut self, code: KeyCode, ctrl: bool) -> Option<Cmd> {
        let editor = &mut self.filter;
        match code {
            KeyCode::Enter => {
                if let EditOutcome::Apply(spec) = editor.submit() {
                    return Some(self.restart_with(spec));
                }
            }
            KeyCode::Esc => {
                editor.cancel();
            }
            KeyCode::Backspace => editor.backspace(),
            KeyCode::Delete => editor.delete(),
            KeyCode::Left => editor.move_cursor(-1),
            KeyCode::Right => editor.move_cursor(1),
            KeyCode::Home => editor.jump(false),
            KeyCode::End => editor.jump(true),
            KeyCode::Char('u') if ctrl => editor.clear(),
            KeyCode::Char('a') if ctrl => editor.jump(false),
            KeyCode::Char('e') if ctrl => editor.jump(true),
            KeyCode::Char(c) if !ctrl => editor.insert(c),
            _ => {}
        }
        None
    }

    fn on_help_key(&mut self, code: KeyCode) -> Option<Cmd> {
        match code {
            KeyCode::Char('q') => return Some(Cmd::Quit),
            KeyCode::Char('?') | KeyCode::Esc | KeyCode::Enter => self.help = false,
            _ => {}
        }
        None
    }

    fn on_dashboard_key(&mut self, code: KeyCode) -> Option<Cmd> {
        let rows = self.table_rows();
        let page = rows as u64;
        match code {
            KeyCode::Char('q') => return Some(Cmd::Quit),
            KeyCode::Char('/') => self.filter.open(),
            KeyCode::Char(' ') => self.toggle_pause(),
            KeyCode::Char('?') => self.help = true,
            KeyCode::Char('c') => self.clear(),
            KeyCode::Up | KeyCode::Char('k') => self.move_selection(|t, b| t.up(b, rows, 1)),
            KeyCode::Down | KeyCode::Char('j') => self.move_selection(|t, b| t.down(b, rows, 1)),
            KeyCode::PageUp if self.detail.open => self.scroll_detail(-1),
            KeyCode::PageDown if self.detail.open => self.scroll_detail(1),
            KeyCode::PageUp => self.move_selection(|t, b| t.up(b, rows, page)),
            KeyCode::PageDown => self.move_selection(|t, b| t.down(b, rows, page)),
            KeyCode::Home | KeyCode::Char('g') => self.move_selection(|t, b| t.home(b, rows)),
            KeyCode::End | KeyCode::Char('G') => self.move_selection(|t, _| t.end()),
            KeyCode::Enter => self.open_detail(),
            KeyCode::Esc => self.detail.open = false,
            KeyCode::Tab => self.panel = self.panel.next(),
            KeyCode::BackTab => self.panel = self.panel.prev(),
            _ => {}
        }
        None
    }

    fn move_selection(&mut self, f: impl FnOnce(&mut TableView, &FlowBuffer)) {
        f(&mut self.table, &self.buffer);
        self.detail.scroll = 0;
    }

    fn toggle_pause(&mut self) {
        if !self.pause.is_paused() {
            self.pause.pause();
            return;
        }
        for flow in self.pause.resume() {
            self.buffer.push(flow);
        }
    }

    fn open_detail(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        self.detail.open = true;
        let rows = self.table_rows();
        self.table.select_newest(&self.buffer, rows);
    }

    /// Scrolls the detail pane by `pages` pages of half its height.
    fn scroll_detail(&mut self, pages: i32) {
        let step = match self.screen() {
            Screen::Full(a) => (a.detail.height / 2).max(1),
            Screen::Tiny(_) => 1,
        };
        let delta = i32::from(step) * pages;
        let scrolled = i32::from(self.detail.scroll) + delta;
        self.detail.scroll = u16::try_from(scrolled.max(0)).unwrap_or(u16::MAX);
    }
}
