//! Objects defined more than once in one input (same kind, namespace and name, in one file
//! or across files): the last definition wins, as with `kubectl apply`, and every earlier
//! one gets a warning that names where the winner is. Identity is the engine's
//! [`ObjectKey`], the same key `observe apply` stores objects under, so the offline
//! commands and the agent agree on what replaces what.

use std::collections::BTreeMap;

use super::Located;
use super::diag::{Diagnostic, Severity};
use crate::engine::ObjectKey;

/// A parsed object and where its document starts.
pub struct Found {
    /// The object.
    pub located: Located,
    /// Index of its input (file) in the parse call.
    pub input: usize,
    /// Line of its document's start.
    pub line: u32,
    /// Column of its document's start.
    pub col: u32,
}

/// Keeps the last definition of each object, in input order; returns the warnings about
/// the dropped ones, each with the index of its input.
pub fn keep_last(found: Vec<Found>) -> (Vec<Found>, Vec<(usize, Diagnostic)>) {
    let keys: Vec<ObjectKey> = found
        .iter()
        .map(|f| ObjectKey::of(&f.located.object))
        .collect();
    let mut last: BTreeMap<&ObjectKey, usize> = BTreeMap::new();
    for (i, key) in keys.iter().enumerate() {
        last.insert(key, i);
    }
    let winners: Vec<usize> = keys.iter().map(|k| last[k]).collect();
    let mut warnings = Vec::new();
    for (i, f) in found.iter().enumerate() {
        let w = winners[i];
        if w != i {
            warnings.push((f.input, replaced(f, &found[w], &keys[i])));
        }
    }
    let kept = found
        .into_iter()
        .enumerate()
        .filter(|(i, _)| winners[*i] == *i)
        .map(|(_, f)| f)
        .collect();
    (kept, warnings)
}

fn replaced(loser: &Found, winner: &Found, key: &ObjectKey) -> Diagnostic {
    let w = &winner.located;
    Diagnostic {
        severity: Severity::Warning,
        file: loser.located.file.clone(),
        document: loser.located.document,
        line: loser.line,
        col: loser.col,
        object: Some(key.to_string()),
        path: String::new(),
        message: format!(
            "ignored: {key} is defined again at {}:{}:{} (document {}), and the last \
             definition wins (as with kubectl apply)",
            w.file, winner.line, winner.col, w.document
        ),
    }
}
