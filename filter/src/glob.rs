//! DNS-style name patterns for node names and FQDNs: lowercase letters, digits, `-`, `_`
//! and `.`, with `*` matching any run of letters, digits, `-` and `.` (Hubble's rules).
//! Hand-written: a small dynamic program instead of a regex engine.

/// A canonical pattern (trimmed, lowercase, without trailing dot).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Glob {
    pattern: Vec<u8>,
}

impl Glob {
    /// Parses a pattern.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let canonical = canonical(text);
        if canonical.is_empty() {
            return Err("empty pattern".into());
        }
        if canonical.ends_with('.') {
            return Err("multiple trailing dots".into());
        }
        if let Some(bad) = canonical.chars().find(|&c| !(is_name_char(c) || c == '*')) {
            return Err(format!("invalid character {bad:?} in pattern"));
        }
        Ok(Self {
            pattern: canonical.into_bytes(),
        })
    }

    /// Whether the whole of `name` (canonicalised the same way) matches.
    pub(crate) fn matches(&self, name: &str) -> bool {
        let name = canonical(name);
        let text = name.as_bytes();
        // reachable[j]: the pattern prefix seen so far can match text[..j].
        let mut reachable = vec![false; text.len() + 1];
        reachable[0] = true;
        for &p in &self.pattern {
            let mut next = vec![false; text.len() + 1];
            for j in 0..=text.len() {
                if p == b'*' {
                    // Either the star matches nothing here, or extends by one char.
                    next[j] = reachable[j] || (j > 0 && next[j - 1] && is_star_char(text[j - 1]));
                } else {
                    next[j] = j > 0 && reachable[j - 1] && text[j - 1] == p;
                }
            }
            reachable = next;
        }
        reachable[text.len()]
    }
}

fn canonical(text: &str) -> String {
    let trimmed = text.trim();
    trimmed
        .strip_suffix('.')
        .unwrap_or(trimmed)
        .to_ascii_lowercase()
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
}

fn is_star_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.')
}

/// Whether `name` is a non-empty dotted name of letters, digits, `-` and `_` (what an
/// omitted pattern part matches).
pub(crate) fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_match_runs_of_name_characters() {
        let g = Glob::parse("k8s*").unwrap();
        assert!(g.matches("k8s"));
        assert!(g.matches("k8s-worker-1"));
        assert!(g.matches("K8S1."));
        assert!(!g.matches("node-k8s"));
        let mid = Glob::parse("*.cilium.io").unwrap();
        assert!(mid.matches("docs.cilium.io"));
        assert!(mid.matches("a.b.cilium.io"));
        assert!(!mid.matches("cilium.io"));
        assert!(
            !Glob::parse("*").unwrap().matches("under_score"),
            "stars skip '_'"
        );
        assert!(Glob::parse("under_score").unwrap().matches("under_score"));
    }

    #[test]
    fn invalid_patterns_are_rejected() {
        assert_eq!(Glob::parse(" ").unwrap_err(), "empty pattern");
        assert_eq!(Glob::parse("a..").unwrap_err(), "multiple trailing dots");
        assert!(Glob::parse("a/b").unwrap_err().contains("'/'"));
        assert!(Glob::parse("node?").is_err());
    }

    #[test]
    fn names_are_dotted_labels() {
        assert!(is_name("cluster-1"));
        assert!(is_name("a.b_c"));
        assert!(!is_name(""));
        assert!(!is_name("a..b"));
        assert!(!is_name("a/b"));
    }
}
