//! `rules.http`: what one HTTP rule requires of a request, and whether a request meets it,
//! with the semantics of Cilium's Envoy filter.
//!
//! - `method`, `path` and `host` are regular expressions matched against the whole value
//!   (Envoy's `safe_regex` is a full match: `GET` does not match `GETX`, `/health` does not
//!   match `/healthz` or `/health?verbose`). `path` sees the request target as sent,
//!   query string included; `host` sees the `Host` header (or the authority of an absolute
//!   target), port included when the client sent one.
//! - `headers`: `Name` requires the header to be present; `Name: value` (the first space
//!   separates them, a trailing `:` of the name is dropped) requires one of its values to
//!   equal `value`. Header names compare case-insensitively.
//! - `headerMatches`: `name` and a literal `value` (empty: presence). Without `mismatch`
//!   the header must match; with `mismatch` (`LOG`, `ADD`, `DELETE`, `REPLACE`) a mismatch
//!   does not deny, and the proxy applies the action to the forwarded request instead.
//! - Every field given must hold (an AND); an empty rule matches every request. The rules
//!   of one port are an OR ([`first_match`]).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A regular expression of an HTTP rule, matched against the whole value.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    /// The expression has no metacharacter (`GET`, `/health`): it is compared as a
    /// string, which is what most rules are and costs no regex engine.
    literal: bool,
    anchored: Arc<regex_lite::Regex>,
}

/// Characters that make an expression more than a literal.
const META: &[char] = &[
    '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
];

impl Pattern {
    /// Compiles `source`; the error is the regex library's message.
    pub fn new(source: &str) -> Result<Self, String> {
        let anchored = regex_lite::Regex::new(&format!("^(?:{source})$")).map_err(|e| {
            e.to_string()
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_string()
        })?;
        Ok(Self {
            source: source.to_string(),
            literal: !source.contains(META),
            anchored: Arc::new(anchored),
        })
    }

    /// Whether the whole of `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        if self.literal {
            value == self.source
        } else {
            self.anchored.is_match(value)
        }
    }

    /// The expression as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Pattern {}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.source)
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let source = String::deserialize(d)?;
        Pattern::new(&source).map_err(serde::de::Error::custom)
    }
}

/// One entry of `headers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderRequirement {
    /// The header's name, lower case.
    pub name: String,
    /// The value one of its values must equal; `None`: present with any value.
    pub value: Option<String>,
}

impl HeaderRequirement {
    /// Reads `Name` or `Name: value` as Cilium does.
    pub fn parse(text: &str) -> Self {
        let (name, value) = match text.split_once(' ') {
            Some((name, value)) => (name.strip_suffix(':').unwrap_or(name), Some(value)),
            None => (text, None),
        };
        Self {
            name: name.to_ascii_lowercase(),
            value: value.map(str::to_string),
        }
    }
}

/// What the proxy does when a `headerMatches` entry with `mismatch` does not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mismatch {
    /// Forward, and say so in the flow.
    Log,
    /// Add the header with the value.
    Add,
    /// Remove the header.
    Delete,
    /// Set the header to the value.
    Replace,
}

impl Mismatch {
    /// Reads Cilium's spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "LOG" => Self::Log,
            "ADD" => Self::Add,
            "DELETE" => Self::Delete,
            "REPLACE" => Self::Replace,
            _ => return None,
        })
    }
}

/// One entry of `headerMatches`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderMatch {
    /// The header's name, lower case.
    pub name: String,
    /// The literal value; empty: presence.
    pub value: String,
    /// What a mismatch does; `None`: it denies.
    pub mismatch: Option<Mismatch>,
}

/// One rule of `rules.http`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRule {
    /// `method`.
    pub method: Option<Pattern>,
    /// `path`.
    pub path: Option<Pattern>,
    /// `host`.
    pub host: Option<Pattern>,
    /// `headers`.
    pub headers: Vec<HeaderRequirement>,
    /// `headerMatches`.
    pub header_matches: Vec<HeaderMatch>,
}

/// What a rule is checked against: one request as the proxy read it.
pub trait RequestView {
    /// The method (`GET`).
    fn method(&self) -> &str;
    /// The request target as sent (`/health?x=1`), or the path of an absolute target.
    fn path(&self) -> &str;
    /// The host (`Host` header, or an absolute target's authority); empty without one.
    fn host(&self) -> &str;
    /// The values of header `name` (lower case).
    fn header_values(&self, name: &str) -> Vec<&str>;
}

/// An owned request (what `policy trace --http-*` describes, and tests use).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: String,
    /// The request target.
    pub path: String,
    /// The host.
    pub host: String,
    /// Headers (name, value), in order.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// A request from a method, a path and `Name: value` headers (the host is the `Host`
    /// header's). The error names what is wrong.
    pub fn from_parts(method: &str, path: &str, headers: &[String]) -> Result<Self, String> {
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(format!(
                "method {method:?} is not an HTTP method (letters only)"
            ));
        }
        if !path.starts_with('/') && path != "*" {
            return Err(format!("path {path:?} must start with /"));
        }
        let mut parsed = Vec::new();
        for h in headers {
            let Some((k, v)) = h.split_once(':') else {
                return Err(format!("header {h:?} is not Name: value"));
            };
            let k = k.trim();
            if k.is_empty() || k.contains(' ') {
                return Err(format!("header {h:?} has no valid name"));
            }
            parsed.push((k.to_ascii_lowercase(), v.trim().to_string()));
        }
        let host = parsed
            .iter()
            .find(|(k, _)| k == "host")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        Ok(Self {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            host,
            headers: parsed,
        })
    }
}

impl RequestView for Request {
    fn method(&self) -> &str {
        &self.method
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn host(&self) -> &str {
        &self.host
    }
    fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A header edit a matching rule asks of the proxy (a `headerMatches` mismatch action).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderEdit {
    /// The action.
    pub action: Mismatch,
    /// The header, lower case.
    pub name: String,
    /// The value to add or set.
    pub value: String,
}

impl HttpRule {
    /// Whether `request` meets the rule; on a match, the header edits its `mismatch`
    /// actions ask for.
    pub fn check(&self, request: &dyn RequestView) -> Option<Vec<HeaderEdit>> {
        let fits = |p: &Option<Pattern>, v: &str| p.as_ref().is_none_or(|p| p.matches(v));
        if !fits(&self.method, request.method())
            || !fits(&self.path, request.path())
            || !fits(&self.host, request.host())
        {
            return None;
        }
        for h in &self.headers {
            let values = request.header_values(&h.name);
            let ok = match &h.value {
                None => !values.is_empty(),
                Some(v) => values.contains(&v.as_str()),
            };
            if !ok {
                return None;
            }
        }
        let mut edits = Vec::new();
        for m in &self.header_matches {
            let values = request.header_values(&m.name);
            let ok = if m.value.is_empty() {
                !values.is_empty()
            } else {
                values.contains(&m.value.as_str())
            };
            match (ok, m.mismatch) {
                (true, _) | (false, Some(Mismatch::Log)) => {}
                (false, None) => return None,
                (false, Some(action)) => edits.push(HeaderEdit {
                    action,
                    name: m.name.clone(),
                    value: m.value.clone(),
                }),
            }
        }
        Some(edits)
    }

    /// A one-line summary (`GET /health`, `POST /api/.* host=a.example`, `any request`).
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(m) = &self.method {
            parts.push(m.as_str().to_string());
        }
        if let Some(p) = &self.path {
            parts.push(p.as_str().to_string());
        }
        if let Some(h) = &self.host {
            parts.push(format!("host={}", h.as_str()));
        }
        for h in &self.headers {
            parts.push(match &h.value {
                Some(v) => format!("header {}: {v}", h.name),
                None => format!("header {}", h.name),
            });
        }
        for m in &self.header_matches {
            let what = if m.value.is_empty() {
                format!("headerMatch {}", m.name)
            } else {
                format!("headerMatch {}: {}", m.name, m.value)
            };
            parts.push(match m.mismatch {
                Some(a) => format!("{what} (else {a:?})"),
                None => what,
            });
        }
        if parts.is_empty() {
            "any request".into()
        } else {
            parts.join(" ")
        }
    }
}

/// The first of `rules` that `request` meets, with its index and header edits.
pub fn first_match<'r>(
    rules: &'r [HttpRule],
    request: &dyn RequestView,
) -> Option<(usize, &'r HttpRule, Vec<HeaderEdit>)> {
    rules
        .iter()
        .enumerate()
        .find_map(|(i, r)| r.check(request).map(|edits| (i, r, edits)))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Req {
        method: &'static str,
        path: &'static str,
        host: &'static str,
        headers: Vec<(&'static str, &'static str)>,
    }

    impl RequestView for Req {
        fn method(&self) -> &str {
            self.method
        }
        fn path(&self) -> &str {
            self.path
        }
        fn host(&self) -> &str {
            self.host
        }
        fn header_values(&self, name: &str) -> Vec<&str> {
            self.headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
                .collect()
        }
    }

    fn req(method: &'static str, path: &'static str) -> Req {
        Req {
            method,
            path,
            host: "backend:8080",
            headers: vec![("X-Token", "abc"), ("Accept", "*/*")],
        }
    }

    fn rule(method: Option<&str>, path: Option<&str>) -> HttpRule {
        HttpRule {
            method: method.map(|m| Pattern::new(m).unwrap()),
            path: path.map(|p| Pattern::new(p).unwrap()),
            ..HttpRule::default()
        }
    }

    #[test]
    fn method_and_path_are_whole_value_matches() {
        let r = rule(Some("GET"), Some("/health"));
        assert!(r.check(&req("GET", "/health")).is_some());
        assert!(r.check(&req("POST", "/health")).is_none());
        assert!(r.check(&req("GETX", "/health")).is_none());
        assert!(r.check(&req("GET", "/healthz")).is_none());
        assert!(r.check(&req("GET", "/x/health")).is_none());
        // The query string is part of what `path` sees, as Envoy's `:path`.
        assert!(r.check(&req("GET", "/health?verbose")).is_none());
        let prefix = rule(Some("GET|HEAD"), Some("/api/v[0-9]+/.*"));
        assert!(prefix.check(&req("HEAD", "/api/v2/items?x=1")).is_some());
        assert!(prefix.check(&req("GET", "/api/v/items")).is_none());
        // An alternation is anchored as a whole, not only its first branch.
        assert!(
            rule(Some("GET|PUT"), None)
                .check(&req("XPUT", "/"))
                .is_none()
        );
    }

    #[test]
    fn literal_patterns_match_as_their_expression_would() {
        for (source, value, expected) in [
            ("GET", "GET", true),
            ("GET", "get", false),
            ("/health", "/health", true),
            ("/health", "/health/", false),
            ("/a-b_c~d", "/a-b_c~d", true),
            ("", "", true),
            ("", "x", false),
        ] {
            let p = Pattern::new(source).unwrap();
            assert!(p.literal, "{source}");
            assert_eq!(p.matches(value), expected, "{source} ~ {value}");
            assert_eq!(
                p.anchored.is_match(value),
                expected,
                "the regex agrees: {source}"
            );
        }
        assert!(!Pattern::new("/a.b").unwrap().literal);
    }

    #[test]
    fn an_empty_rule_matches_everything() {
        assert_eq!(
            HttpRule::default().check(&req("DELETE", "/admin")),
            Some(vec![])
        );
        assert_eq!(HttpRule::default().summary(), "any request");
    }

    #[test]
    fn host_matches_the_authority_with_its_port() {
        let mut r = HttpRule {
            host: Some(Pattern::new("backend(:[0-9]+)?").unwrap()),
            ..HttpRule::default()
        };
        assert!(r.check(&req("GET", "/")).is_some());
        r.host = Some(Pattern::new("backend").unwrap());
        assert!(r.check(&req("GET", "/")).is_none());
    }

    #[test]
    fn headers_require_presence_or_an_exact_value() {
        let with = |text: &str| HttpRule {
            headers: vec![HeaderRequirement::parse(text)],
            ..HttpRule::default()
        };
        assert!(with("x-token").check(&req("GET", "/")).is_some());
        assert!(with("X-Token: abc").check(&req("GET", "/")).is_some());
        assert!(with("X-Token abc").check(&req("GET", "/")).is_some());
        assert!(with("X-Token: abd").check(&req("GET", "/")).is_none());
        assert!(with("X-Missing").check(&req("GET", "/")).is_none());
        assert_eq!(
            HeaderRequirement::parse("X-Token: a b"),
            HeaderRequirement {
                name: "x-token".into(),
                value: Some("a b".into())
            }
        );
    }

    #[test]
    fn header_matches_deny_or_ask_for_their_mismatch_action() {
        let m = |value: &str, mismatch| HttpRule {
            header_matches: vec![HeaderMatch {
                name: "x-token".into(),
                value: value.into(),
                mismatch,
            }],
            ..HttpRule::default()
        };
        let r = req("GET", "/");
        assert_eq!(m("abc", None).check(&r), Some(vec![]));
        assert_eq!(m("", None).check(&r), Some(vec![]));
        assert_eq!(m("zzz", None).check(&r), None);
        assert_eq!(m("zzz", Some(Mismatch::Log)).check(&r), Some(vec![]));
        assert_eq!(
            m("zzz", Some(Mismatch::Replace)).check(&r),
            Some(vec![HeaderEdit {
                action: Mismatch::Replace,
                name: "x-token".into(),
                value: "zzz".into()
            }])
        );
    }

    #[test]
    fn the_rules_of_a_port_are_an_or() {
        let rules = [
            rule(Some("GET"), Some("/health")),
            rule(Some("POST"), Some("/submit")),
        ];
        assert_eq!(
            first_match(&rules, &req("POST", "/submit")).map(|m| m.0),
            Some(1)
        );
        assert!(first_match(&rules, &req("POST", "/health")).is_none());
    }

    #[test]
    fn bad_expressions_are_errors_and_patterns_round_trip() {
        assert!(Pattern::new("(").is_err());
        let p = Pattern::new("/a.*").unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, "\"/a.*\"");
        assert_eq!(serde_json::from_str::<Pattern>(&json).unwrap(), p);
        assert!(serde_json::from_str::<Pattern>("\"(\"").is_err());
    }

    #[test]
    fn summaries_name_what_the_rule_allows() {
        assert_eq!(rule(Some("GET"), Some("/health")).summary(), "GET /health");
    }
}
