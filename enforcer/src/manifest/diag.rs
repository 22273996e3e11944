//! Diagnostics: errors and warnings that name the file, document, object, field path and
//! the offending value.

use std::fmt;
use std::sync::Arc;

/// Error or warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The input is rejected.
    Error,
    /// The input is accepted; something was skipped or ignored.
    Warning,
}

/// One finding about the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// File name (or `<stdin>`).
    pub file: Arc<str>,
    /// 1-based index of the document in its file (0 when the whole file is concerned).
    pub document: usize,
    /// 1-based line (0 when unknown).
    pub line: u32,
    /// 1-based column (0 when unknown).
    pub col: u32,
    /// `Kind namespace/name` of the object, when known.
    pub object: Option<String>,
    /// Field path such as `spec.ingress[0].toPorts[1].ports[0].port` (empty for the
    /// document itself).
    pub path: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.col)?;
        }
        if self.document > 0 {
            write!(f, ": document {}", self.document)?;
        }
        if let Some(o) = &self.object {
            write!(f, " ({o})")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every error found in a set of manifests (nothing was applied).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} error(s) in the manifests:\n{}", .0.len(), render(.0))]
pub struct ManifestErrors(pub Vec<Diagnostic>);

fn render(d: &[Diagnostic]) -> String {
    d.iter()
        .map(|d| format!("  {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Sorts diagnostics tagged with their input's index into document order (input, document,
/// line, column; ties keep the order they were found in) and splits errors from warnings.
pub fn in_document_order(
    mut diags: Vec<(usize, Diagnostic)>,
) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    diags.sort_by_key(|(input, d)| (*input, d.document, d.line, d.col));
    diags
        .into_iter()
        .map(|(_, d)| d)
        .partition(|d| d.severity == Severity::Error)
}

/// Quotes a user value for a message, truncating very long ones.
pub fn quote(value: &str) -> String {
    const MAX: usize = 80;
    if value.chars().count() > MAX {
        let head: String = value.chars().take(MAX).collect();
        format!("{head:?}...")
    } else {
        format!("{value:?}")
    }
}
