//! The `/` filter editor: a one-line input with a cursor, the filter in force, and the
//! one before it (to go back to when the server rejects a new one).
//!
//! A line that does not parse stays in the editor with the error next to it and the old
//! filter keeps running. A line that parses is sent by restarting the stream; if the server
//! still rejects it (say, an invalid regular expression), the editor reopens with the
//! server's message and the previous filter is restored.

use crate::filter::{self, FilterSpec};

/// What a key did to the editor.
#[derive(Clone, Debug, PartialEq)]
pub enum EditOutcome {
    /// Still editing (or nothing happened).
    Editing,
    /// The line parsed: restart the stream with it.
    Apply(FilterSpec),
    /// Editing was abandoned; the filter in force is unchanged.
    Cancelled,
}

/// Filter state.
#[derive(Clone, Debug, Default)]
pub struct FilterEditor {
    /// The filter the stream runs with (or is being restarted with).
    pub active: FilterSpec,
    /// The filter before `active`, until the server accepts `active`.
    previous: Option<FilterSpec>,
    /// Whether the input line is open.
    pub editing: bool,
    /// The text being edited.
    pub input: String,
    /// Cursor position in `input`, in characters.
    pub cursor: usize,
    /// Why the last line was rejected (shown next to the input).
    pub error: Option<String>,
}

impl FilterEditor {
    /// An editor whose filter in force is `active`.
    pub fn new(active: FilterSpec) -> Self {
        Self {
            active,
            ..Self::default()
        }
    }

    /// Opens the input with the filter in force.
    pub fn open(&mut self) {
        self.editing = true;
        self.input = self.active.line.clone();
        self.cursor = self.input.chars().count();
        self.error = None;
    }

    /// Closes the input without changing the filter.
    pub fn cancel(&mut self) -> EditOutcome {
        self.editing = false;
        self.error = None;
        EditOutcome::Cancelled
    }

    /// Parses the input; on success it becomes the filter in force.
    pub fn submit(&mut self) -> EditOutcome {
        match filter::parse(&self.input) {
            Ok(spec) => {
                self.previous = Some(std::mem::replace(&mut self.active, spec.clone()));
                self.editing = false;
                self.error = None;
                EditOutcome::Apply(spec)
            }
            Err(err) => {
                self.error = Some(err);
                EditOutcome::Editing
            }
        }
    }

    /// The server accepted the filter in force.
    pub fn accepted(&mut self) {
        self.previous = None;
    }

    /// The server rejected the filter in force: reopen it with `reason`, and return the
    /// filter to go back to.
    pub fn rejected(&mut self, reason: String) -> FilterSpec {
        let previous = self.previous.take().unwrap_or_default();
        let rejected = std::mem::replace(&mut self.active, previous.clone());
        self.editing = true;
        self.input = rejected.line;
        self.cursor = self.input.chars().count();
        self.error = Some(format!("the agent rejected this filter: {reason}"));
        previous
    }

    /// Inserts `c` at the cursor.
    pub fn insert(&mut self, c: char) {
        let at = self.byte_index(self.cursor);
        self.input.insert(at, c);
        self.cursor += 1;
        self.error = None;
    }

    /// Deletes the character before the cursor.
    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            self.delete();
        }
    }

    /// Deletes the character under the cursor.
    pub fn delete(&mut self) {
        let at = self.byte_index(self.cursor);
        if at < self.input.len() {
            self.input.remove(at);
            self.error = None;
        }
    }

    /// Moves the cursor by `delta` characters, within the line.
    pub fn move_cursor(&mut self, delta: isize) {
        let len = self.input.chars().count();
        self.cursor = self.cursor.saturating_add_signed(delta).min(len);
    }

    /// Moves the cursor to the start (`false`) or the end (`true`).
    pub fn jump(&mut self, to_end: bool) {
        self.cursor = if to_end {
            self.input.chars().count()
        } else {
            0
        };
    }

    /// Empties the line (Ctrl-U).
    pub fn clear(&mut self) {
        self.input.clear();
        self.cursor = 0;
        self.error = None;
    }

    fn byte_index(&self, chars: usize) -> usize {
        self.input
            .char_indices()
            .nth(chars)
            .map_or(self.input.len(), |(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> FilterEditor {
        let mut e = FilterEditor::default();
        e.open();
        text.chars().for_each(|c| e.insert(c));
        e
    }

    #[test]
    fn a_valid_line_becomes_the_filter_in_force() {
        let mut e = typed("--verdict DROPPED");
        let EditOutcome::Apply(spec) = e.submit() else {
            panic!("applied")
        };
        assert_eq!(spec.line, "--verdict DROPPED");
        assert!(!e.editing && e.active == spec);
    }

    #[test]
    fn an_invalid_line_stays_in_the_editor_with_the_error_and_the_old_filter_runs_on() {
        let mut e = typed("--verdikt DROPPED");
        assert_eq!(e.submit(), EditOutcome::Editing);
        assert!(e.editing && e.error.is_some());
        assert!(e.active.is_empty());
    }

    #[test]
    fn a_filter_the_server_rejects_is_reopened_and_the_previous_one_restored() {
        let mut e = typed("--verdict DROPPED");
        e.submit();
        let back = e.rejected("bad".into());
        assert!(back.is_empty() && e.active.is_empty());
        assert!(e.editing && e.input == "--verdict DROPPED");
        assert!(e.error.as_deref().unwrap().contains("bad"));
    }

    #[test]
    fn the_cursor_edits_in_the_middle_of_multibyte_text() {
        let mut e = typed("aé");
        e.move_cursor(-1);
        e.insert('x');
        e.backspace();
        e.delete();
        assert_eq!((e.input.as_str(), e.cursor), ("a", 1));
        e.move_cursor(-5);
        assert_eq!(e.cursor, 0);
        e.clear();
        assert!(e.input.is_empty());
    }
}
