//! The one error of [`super::from_str`]: "not decided here". It carries no message, so a
//! visitor that tries one reading and then another (pbjson reads a number as a string
//! first) pays nothing for the failed try.

use std::fmt::Display;

/// The text is outside the reader's subset, or the target type refused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not read by the fast JSON reader (serde_json decides)")]
pub struct Unsupported;

impl serde::de::Error for Unsupported {
    fn custom<T: Display>(_message: T) -> Self {
        Self
    }
}
