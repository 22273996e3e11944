//! The quick reader of a line: the line read in place into a [`Slot`], in the same order
//! of tries as [`super::full`] (a response with its event; a skipped event kind; a
//! response without event; a bare flow). It answers only when every try it makes
//! succeeds, so that the answer is [`super::full`]'s; otherwise the line is left to it.
//!
//! A try that fails here may succeed in serde_json (its JSON is wider), so a failed try
//! never leads to the next one: [`super::full`] reads a bare flow only after a typed read
//! of the line as a response gave no event, and so does this reader. [`super::full`]
//! reads bare flows from a `serde_json::Value`, which keeps the last of duplicate keys
//! where typed reading refuses them; the reading here refuses them too, and a line
//! without duplicates reads the same either way.

use super::slot::Slot;
use super::top_keys::TopKeys;
use crate::fast_json;

/// What a line read quickly holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The slot's response is the line's.
    Response,
    /// Nothing to print (a blank line, a skipped event kind).
    Nothing,
    /// Not decided here.
    Undecided,
}

/// Reads the trimmed `line` into `slot`.
pub fn read(slot: &mut Slot, line: &str) -> Outcome {
    if line.is_empty() {
        return Outcome::Nothing;
    }
    if slot.read_response(line).is_err() {
        return Outcome::Undecided;
    }
    if slot.response.response_types.is_some() {
        return Outcome::Response;
    }
    let Ok(keys) = fast_json::from_str::<TopKeys>(line) else {
        return Outcome::Undecided;
    };
    if keys.skipped {
        return Outcome::Nothing;
    }
    if keys.response || slot.read_bare_flow(line).is_ok() {
        return Outcome::Response;
    }
    Outcome::Undecided
}
