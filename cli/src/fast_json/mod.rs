//! A borrowed JSON reader for the common case of `--input-file` lines: the serde
//! `Deserialize` impls pbjson generated from the protos, driven by a small reader over a
//! subset of JSON, with an error that costs nothing to make; and messages read in place
//! ([`in_place`]), which allocate nothing once the first lines have.
//!
//! The contract is one-sided: when this module returns a value, `serde_json::from_str`
//! returns the same value for the same text; anything outside the subset is
//! [`Unsupported`], and the caller must then use serde_json, which gives the real value
//! or the real error. The subset: strings without control characters or lone surrogates
//! (escapes decoded as serde_json decodes them), non-negative integers that fit a `u64`
//! (no fraction, exponent or sign), `true`, `false`, `null`, arrays and objects, at most
//! [`MAX_DEPTH`] deep, with JSON's four whitespace bytes. Within it every `Deserializer`
//! method makes the visitor calls serde_json makes (`visit_borrowed_str` for strings
//! without escapes, `visit_str` for the others, `visit_u64` for numbers, ...); where
//! serde_json does something this reader does not copy (byte strings, enums, 128-bit
//! numbers, numeric map keys), the method is `Unsupported` too.
//!
//! - [`cursor`]: the bytes (whitespace, literals, strings, numbers, skipped values);
//!   [`escape`]: the escapes of strings.
//! - [`deserializer`]: the `serde::Deserializer`; [`access`]: its arrays and objects;
//!   [`key`]: object keys.
//! - [`in_place`]: messages read into an existing value, with pbjson's rules, field by
//!   field ([`fields`]); [`timestamp`]: times in the shape agents print them.

mod access;
mod cursor;
mod deserializer;
mod escape;
pub mod fields;
pub mod in_place;
mod key;
mod timestamp;
mod unsupported;

pub use cursor::Cursor;
pub use in_place::{InPlace, Seen};
pub use unsupported::Unsupported;

/// Arrays and objects nested deeper than this are [`Unsupported`] (serde_json stops at
/// 128).
pub const MAX_DEPTH: u32 = 100;

/// `text` as a `T`, exactly as `serde_json::from_str` reads it, or [`Unsupported`].
///
/// # Errors
///
/// [`Unsupported`]: the text is outside the subset, or `T` refused it; serde_json must
/// decide.
pub fn from_str<'de, T: serde::Deserialize<'de>>(text: &'de str) -> Result<T, Unsupported> {
    let mut cursor = Cursor::new(text);
    let value = T::deserialize(&mut cursor)?;
    cursor.end()?;
    Ok(value)
}
