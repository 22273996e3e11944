//! DNS name selectors as `toFQDNs` and `rules.dns` write them (`matchName`, `matchPattern`),
//! compiled once and matched against query names with Cilium's semantics:
//!
//! - names and patterns are compared lower-cased and fully qualified (`api.example.com.`);
//! - a pattern of stars alone (`*`, `**`, `*.`) matches every name, the root `.` included;
//! - a leading `**.` matches one or more whole labels (`**.example.com` matches
//!   `a.example.com` and `a.b.example.com`, never `example.com`);
//! - any other `*` matches zero or more name characters (`[-a-z0-9_]`) inside one label, so
//!   `*.example.com` matches `api.example.com` but not `a.b.example.com`, and `sub*.io`
//!   matches `sub.io` and `sub-1.io`.
//!
//! No regular expressions: a pattern is a list of label globs, so matching is linear in the
//! name and cannot blow up on hostile input.

use std::fmt;

/// The longest `matchName` or `matchPattern` Cilium accepts.
pub const MAX_LEN: usize = 255;

/// Why a selector was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// Empty (after trimming).
    #[error("an empty DNS name")]
    Empty,
    /// Longer than [`MAX_LEN`].
    #[error("{len} characters; at most {MAX_LEN} are allowed")]
    TooLong {
        /// The length given.
        len: usize,
    },
    /// A character outside `[-a-zA-Z0-9_.]` (and `*` in a pattern).
    #[error("{found:?} is not allowed: only letters, digits, '-', '_', '.'{star} may appear")]
    Character {
        /// The first offending character.
        found: char,
        /// `, and '*'` for patterns.
        star: &'static str,
    },
}

/// A compiled `matchName` or `matchPattern`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NamePattern {
    /// The selector as written (trimmed), for output.
    original: String,
    matcher: Matcher,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Matcher {
    /// `matchName`: this exact lower-cased FQDN.
    Exact(String),
    /// Stars alone: every name.
    All,
    /// `subdomains` whole labels or more (0 or 1), then these label globs, each of
    /// which must match exactly one label of the name.
    Labels {
        /// A leading `**.`: at least one whole label before `labels`.
        subdomains: bool,
        labels: Vec<LabelGlob>,
    },
}

/// One label of a pattern: literal pieces separated by `*`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct LabelGlob {
    /// The literal pieces; a label with `n` stars has `n + 1` pieces (possibly empty).
    pieces: Vec<String>,
}

impl NamePattern {
    /// Compiles a `matchName`: one exact name, case-insensitive, with or without the final
    /// dot.
    pub fn name(text: &str) -> Result<Self, PatternError> {
        let trimmed = validate(text, false)?;
        Ok(Self {
            original: trimmed.to_string(),
            matcher: Matcher::Exact(fqdn(&trimmed.to_ascii_lowercase())),
        })
    }

    /// Compiles a `matchPattern`.
    pub fn pattern(text: &str) -> Result<Self, PatternError> {
        let trimmed = validate(text, true)?;
        let lower = trimmed.to_ascii_lowercase();
        let matcher = if is_wildcard(&lower) {
            Matcher::All
        } else {
            compile_labels(&fqdn(&lower))
        };
        Ok(Self {
            original: trimmed.to_string(),
            matcher,
        })
    }

    /// The selector as written.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// Whether this selector matches every name (`matchPattern: "*"`).
    pub fn matches_all(&self) -> bool {
        self.matcher == Matcher::All
    }

    /// Whether `name` (a query name, any case, with or without the final dot) matches.
    pub fn matches(&self, name: &str) -> bool {
        let name = fqdn(&name.to_ascii_lowercase());
        match &self.matcher {
            Matcher::Exact(want) => *want == name,
            Matcher::All => name == "." || all_labels_are_names(&name),
            Matcher::Labels { subdomains, labels } => match_labels(&name, *subdomains, labels),
        }
    }
}

/// The first of `selectors` (`matchName`/`matchPattern` texts the manifest validated) that
/// allows `name`. A `matchName` has no `*`, so compiling it as a pattern matches exactly.
pub fn first_allowing<'a>(selectors: &'a [String], name: &str) -> Option<&'a str> {
    selectors
        .iter()
        .find(|s| NamePattern::pattern(s).is_ok_and(|p| p.matches(name)))
        .map(String::as_str)
}

impl fmt::Debug for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NamePattern({:?})", self.original)
    }
}

impl fmt::Display for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

/// Trims, then checks length and characters.
fn validate(text: &str, star: bool) -> Result<&str, PatternError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(PatternError::Empty);
    }
    if trimmed.len() > MAX_LEN {
        return Err(PatternError::TooLong { len: trimmed.len() });
    }
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') || (star && c == '*');
    match trimmed.chars().find(|c| !allowed(*c)) {
        Some(found) => Err(PatternError::Character {
            found,
            star: if star { ", and '*'" } else { "" },
        }),
        None => Ok(trimmed),
    }
}

/// `name` with exactly one final dot added if missing (`.` stays `.`).
fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// Stars alone, with an optional final dot (`*`, `**`, `*.`).
fn is_wildcard(pattern: &str) -> bool {
    let stars = pattern.strip_suffix('.').unwrap_or(pattern);
    !stars.is_empty() && stars.bytes().all(|b| b == b'*')
}

/// Compiles a lower-cased FQDN pattern (not stars alone) into label globs.
fn compile_labels(pattern: &str) -> Matcher {
    let body = pattern.strip_suffix('.').unwrap_or(pattern);
    let leading = body.bytes().take_while(|b| *b == b'*').count();
    let (subdomains, rest) = if leading >= 2 && body.as_bytes().get(leading) == Some(&b'.') {
        (true, &body[leading + 1..])
    } else {
        (false, body)
    };
    let labels = rest
        .split('.')
        .map(|label| LabelGlob {
            pieces: collapse_stars(label).split('*').map(String::from).collect(),
        })
        .collect();
    Matcher::Labels { subdomains, labels }
}

/// `a**b` → `a*b`: a run of stars inside a label is one star.
fn collapse_stars(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    for c in label.chars() {
        if !(c == '*' && out.ends_with('*')) {
            out.push(c);
        }
    }
    out
}

/// A DNS name character as Cilium's patterns count them.
fn is_name_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
}

/// Every label of a lower-cased FQDN is non-empty and made of name characters.
fn all_labels_are_names(name: &str) -> bool {
    let body = name.strip_suffix('.').unwrap_or(name);
    body.split('.')
        .all(|l| !l.is_empty() && l.bytes().all(is_name_char))
}

fn match_labels(name: &str, subdomains: bool, globs: &[LabelGlob]) -> bool {
    let body = name.strip_suffix('.').unwrap_or(name);
    let labels: Vec<&str> = body.split('.').collect();
    if subdomains {
        // At least one whole, non-empty label in front of the fixed part.
        let Some(extra) = labels.len().checked_sub(globs.len()).filter(|n| *n >= 1) else {
            return false;
        };
        let (front, back) = labels.split_at(extra);
        front
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(is_name_char))
            && back.iter().zip(globs).all(|(l, g)| g.matches(l))
    } else {
        labels.len() == globs.len() && labels.iter().zip(globs).all(|(l, g)| g.matches(l))
    }
}

impl LabelGlob {
    /// Whether one label matches: the pieces in order, stars matching name characters.
    fn matches(&self, label: &str) -> bool {
        let (first, rest) = match self.pieces.split_first() {
            Some(split) => split,
            None => return label.is_empty(),
        };
        let Some(mut tail) = label.strip_prefix(first.as_str()) else {
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            // No star: the whole label is the literal.
            return tail.is_empty();
        };
        for piece in middle {
            // Leftmost match is enough: what a star skips must be name characters.
            let Some(at) = tail.find(piece.as_str()) else {
                return false;
            };
            if !tail.as_bytes()[..at].iter().all(|b| is_name_char(*b)) {
                return false;
            }
            tail = &tail[at + piece.len()..];
        }
        tail.len() >= last.len()
            && tail.ends_with(last.as_str())
            && tail.as_bytes()[..tail.len() - last.len()]
                .iter()
                .all(|b| is_name_char(*b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(p: &str) -> NamePattern {
        NamePattern::pattern(p).unwrap()
    }

    /// Table from Cilium's own matchPattern examples and tests: (pattern, matches, does not).
    #[test]
    fn match_pattern_follows_ciliums_examples() {
        let table: &[(&str, &[&str], &[&str])] = &[
            (
                "*",
                &["cilium.io", "a.b.cilium.io.", ".", "_srv._tcp.example.com"],
                &["bad name.io", "a..b.io"],
            ),
            ("**", &["cilium.io", "."], &[]),
            ("*.", &["cilium.io"], &[]),
            (
                "*.cilium.io",
                &[
                    "www.cilium.io",
                    "WWW.Cilium.IO.",
                    "sub-1.cilium.io",
                    ".cilium.io",
                ],
                &[
                    "cilium.io",
                    "a.b.cilium.io",
                    "www.cilium.io.evil.com",
                    "wwwcilium.io",
                ],
            ),
            (
                "**.cilium.io",
                &["www.cilium.io", "a.b.c.cilium.io"],
                &["cilium.io", ".cilium.io", "a..cilium.io", "ciliumXio"],
            ),
            ("***.cilium.io", &["a.b.cilium.io"], &["cilium.io"]),
            (
                "sub*.cilium.io",
                &["sub.cilium.io", "subdomain.cilium.io", "sub-1.cilium.io"],
                &["su.cilium.io", "a.sub.cilium.io", "xsub.cilium.io"],
            ),
            (
                "*sub*.cilium.io",
                &["sub.cilium.io", "asubb.cilium.io"],
                &["su.cilium.io"],
            ),
            (
                "a*b*c.io",
                &["abc.io", "a-b-c.io", "axxbyyc.io", "abbc.io"],
                &["acb.io", "ab.io", "a.b.c.io"],
            ),
            (
                "cilium.io",
                &["cilium.io", "CILIUM.IO."],
                &["www.cilium.io"],
            ),
            ("*.*.cilium.io", &["a.b.cilium.io"], &["a.cilium.io"]),
            ("api.*", &["api.io", "api.com"], &["api.example.com"]),
        ];
        for (p, yes, no) in table {
            let compiled = pattern(p);
            for name in *yes {
                assert!(compiled.matches(name), "{p:?} matches {name:?}");
            }
            for name in *no {
                assert!(!compiled.matches(name), "{p:?} does not match {name:?}");
            }
        }
    }

    #[test]
    fn match_name_is_exact_and_case_insensitive() {
        let name = NamePattern::name("API.Partner.com").unwrap();
        assert!(name.matches("api.partner.com"));
        assert!(name.matches("api.partner.com."));
        assert!(!name.matches("www.api.partner.com"));
        assert!(!name.matches("partner.com"));
        assert_eq!(name.as_str(), "API.Partner.com");
    }

    #[test]
    fn a_star_in_a_match_name_is_an_error_not_a_wildcard() {
        assert!(matches!(
            NamePattern::name("*.partner.com"),
            Err(PatternError::Character { found: '*', .. })
        ));
    }

    #[test]
    fn only_the_lone_star_matches_all() {
        assert!(pattern("*").matches_all());
        assert!(pattern(" ** ").matches_all());
        assert!(!pattern("*.io").matches_all());
    }

    #[test]
    fn bad_selectors_say_what_is_wrong() {
        assert_eq!(NamePattern::pattern("  "), Err(PatternError::Empty));
        assert_eq!(
            NamePattern::pattern(&"a".repeat(256)),
            Err(PatternError::TooLong { len: 256 })
        );
        let err = NamePattern::pattern("api.[a-z].com").unwrap_err();
        assert_eq!(
            err.to_string(),
            "'[' is not allowed: only letters, digits, '-', '_', '.', and '*' may appear"
        );
        assert!(NamePattern::pattern("ä.io").is_err());
    }

    #[test]
    fn hostile_names_match_in_linear_time_and_never_panic() {
        let p = pattern("*a*a*a*a*a*a*a*a*b.io");
        let name = format!("{}.io", "a".repeat(10_000));
        assert!(!p.matches(&name));
        for name in ["", ".", "..", "é.io", "\u{0}.io", "a.b.c."] {
            let _ = p.matches(name);
            let _ = pattern("**.io").matches(name);
            let _ = pattern("*").matches(name);
        }
    }
}
