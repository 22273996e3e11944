//! The filter line: the boundary between the TUI and the filter-flag parser.
//!
//! The `/` editor takes the same syntax as `observe flows` (`--verdict DROPPED --to-pod
//! shop/ --not --port 53`); `observe-flags` parses it into the whitelist and blacklist of
//! a `GetFlowsRequest`, so the CLI and the TUI accept exactly the same flags. Everything
//! else in this crate sees only [`FilterSpec`] and [`parse`], so the parser can change
//! without touching the app.

pub use observe_flags::Filters;

/// A filter as typed and as sent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilterSpec {
    /// What the user typed, trimmed (empty: every flow).
    pub line: String,
    /// The parsed allow and deny lists.
    pub filters: Filters,
}

impl FilterSpec {
    /// No filter: every flow.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether every flow passes.
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }
}

/// Parses a filter line.
///
/// # Errors
///
/// A one-line message naming the flag and the value, as `observe flows` would print it.
pub fn parse(line: &str) -> Result<FilterSpec, String> {
    observe_flags::parse_filter_line(line)
        .map(|filters| FilterSpec {
            line: line.trim().to_string(),
            filters,
        })
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_line_parses_into_allow_and_deny_lists() {
        let spec = parse(" --verdict DROPPED --not --to-port 53 ").unwrap();
        assert_eq!(spec.line, "--verdict DROPPED --not --to-port 53");
        assert_eq!(spec.filters.whitelist.len(), 1);
        assert_eq!(spec.filters.blacklist.len(), 1);
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn a_bad_filter_line_is_a_one_line_error() {
        let err = parse("--verdict NOPE").unwrap_err();
        assert!(err.contains("--verdict") && !err.contains('\n'), "{err}");
    }
}
