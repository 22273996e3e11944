//! Kubernetes label selectors over Cilium labels, hand-written (no regex engine):
//!
//! ```text
//! selector    = [ requirement { "," requirement } ]     empty selects everything
//! requirement = "!" key                                 key absent
//!             | key                                     key present
//!             | key ( "=" | "==" | "!=" ) value
//!             | key ( "in" | "notin" ) "(" value { "," value } ")"
//!             | key ( ">" | "<" ) integer
//! key         = [ source ":" ] [ prefix "/" ] name      e.g. k8s:app, reserved:world
//! ```
//!
//! Flow labels carry a source (`k8s:app=web`, `reserved:world`); a selector key without
//! one matches labels of any source, as in Hubble. `!=` and `notin` also match when the
//! key is absent (Kubernetes semantics).

use std::fmt;

/// A parsed selector: all requirements must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

/// Why a selector does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(String);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Requirement {
    key: Key,
    op: Op,
}

/// A label key; `source: None` matches any source.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    source: Option<String>,
    name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Exists,
    NotExists,
    In(Vec<String>),
    NotIn(Vec<String>),
    Gt(i64),
    Lt(i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Not,
    Eq,
    NotEq,
    Gt,
    Lt,
    Comma,
    Open,
    Close,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(w) => write!(f, "{w:?}"),
            Token::Not => f.write_str("'!'"),
            Token::Eq => f.write_str("'='"),
            Token::NotEq => f.write_str("'!='"),
            Token::Gt => f.write_str("'>'"),
            Token::Lt => f.write_str("'<'"),
            Token::Comma => f.write_str("','"),
            Token::Open => f.write_str("'('"),
            Token::Close => f.write_str("')'"),
        }
    }
}

fn err(message: impl Into<String>) -> SelectorError {
    SelectorError(message.into())
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let token = match c {
            c if c.is_whitespace() => continue,
            ',' => Token::Comma,
            '(' => Token::Open,
            ')' => Token::Close,
            '>' => Token::Gt,
            '<' => Token::Lt,
            '!' if chars.next_if_eq(&'=').is_some() => Token::NotEq,
            '!' => Token::Not,
            '=' => {
                // "==" is the same as "=".
                chars.next_if_eq(&'=');
                Token::Eq
            }
            first => {
                let mut word = String::from(first);
                while let Some(c) = chars.next_if(|&c| !c.is_whitespace() && !"!=,()<>".contains(c))
                {
                    word.push(c);
                }
                Token::Word(word)
            }
        };
        tokens.push(token);
    }
    tokens
}

/// Recursive-descent parser over the tokens.
struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expect_word(&mut self, what: &str) -> Result<String, SelectorError> {
        match self.next() {
            Some(Token::Word(w)) => Ok(w),
            Some(other) => Err(err(format!("expected {what}, found {other}"))),
            None => Err(err(format!("expected {what}, found end of selector"))),
        }
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        if self.peek() == Some(&Token::Not) {
            self.next();
            let key = parse_key(&self.expect_word("a key after '!'")?)?;
            return Ok(Requirement {
                key,
                op: Op::NotExists,
            });
        }
        let key = parse_key(&self.expect_word("a key")?)?;
        let op = match self.peek() {
            None | Some(Token::Comma) => Op::Exists,
            Some(Token::Eq) => {
                self.next();
                Op::In(vec![self.single_value()?])
            }
            Some(Token::NotEq) => {
                self.next();
                Op::NotIn(vec![self.single_value()?])
            }
            Some(Token::Gt) => {
                self.next();
                Op::Gt(self.integer()?)
            }
            Some(Token::Lt) => {
                self.next();
                Op::Lt(self.integer()?)
            }
            Some(Token::Word(w)) if w == "in" => {
                self.next();
                Op::In(self.value_list()?)
            }
            Some(Token::Word(w)) if w == "notin" => {
                self.next();
                Op::NotIn(self.value_list()?)
            }
            Some(other) => {
                return Err(err(format!(
                    "expected an operator after {:?}, found {other}",
                    key.name
                )));
            }
        };
        Ok(Requirement { key, op })
    }

    /// A value after `=`; nothing before the next ',' or the end means the empty value.
    fn single_value(&mut self) -> Result<String, SelectorError> {
        match self.peek() {
            None | Some(Token::Comma) => Ok(String::new()),
            _ => parse_value(self.expect_word("a value")?),
        }
    }

    fn integer(&mut self) -> Result<i64, SelectorError> {
        let word = self.expect_word("an integer")?;
        word.parse()
            .map_err(|_| err(format!("{word:?} is not an integer")))
    }

    fn value_list(&mut self) -> Result<Vec<String>, SelectorError> {
        match self.next() {
            Some(Token::Open) => {}
            _ => return Err(err("expected '(' to start a value list")),
        }
        let mut values = vec![parse_value(self.expect_word("a value")?)?];
        loop {
            match self.next() {
                Some(Token::Close) => return Ok(values),
                Some(Token::Comma) => values.push(parse_value(self.expect_word("a value")?)?),
                _ => return Err(err("expected ',' or ')' in a value list")),
            }
        }
    }
}

fn parse_key(word: &str) -> Result<Key, SelectorError> {
    let (source, name) = match word.split_once(':') {
        Some((source, name)) => (Some(source), name),
        None => (None, word),
    };
    if let Some(source) = source
        && (source.is_empty()
            || !source
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return Err(err(format!("invalid label source in key {word:?}")));
    }
    if !is_qualified_name(name) {
        return Err(err(format!("invalid label key {word:?}")));
    }
    Ok(Key {
        // "any" is Cilium's wildcard source.
        source: source.filter(|s| *s != "any").map(str::to_string),
        name: name.to_string(),
    })
}

/// `[prefix/]name`: a DNS subdomain prefix of at most 253 characters and a name of at most
/// 63 alphanumerics, `-`, `_` and `.`, starting and ending alphanumeric.
fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    });
    prefix_ok && !name.is_empty() && name.len() <= 63 && is_label_text(name)
}

fn parse_value(word: String) -> Result<String, SelectorError> {
    if word.len() <= 63 && is_label_text(&word) {
        Ok(word)
    } else {
        Err(err(format!("invalid label value {word:?}")))
    }
}

/// Alphanumerics, `-`, `_` and `.`, starting and ending alphanumeric.
fn is_label_text(text: &str) -> bool {
    let alnum_ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    alnum_ends(text.chars().next())
        && alnum_ends(text.chars().last())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Selector {
    /// Parses a selector.
    ///
    /// # Errors
    ///
    /// [`SelectorError`] describing the first problem.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let mut parser = Parser {
            tokens: tokenize(text),
            at: 0,
        };
        let mut requirements = Vec::new();
        while parser.peek().is_some() {
            requirements.push(parser.requirement()?);
            match parser.next() {
                None => break,
                Some(Token::Comma) if parser.peek().is_some() => {}
                Some(Token::Comma) => return Err(err("trailing ','")),
                Some(other) => {
                    return Err(err(format!(
                        "expected ',' between requirements, found {other}"
                    )));
                }
            }
        }
        Ok(Self { requirements })
    }

    /// Whether `labels` (`source:key=value` strings) satisfy every requirement.
    pub fn matches<S: AsRef<str>>(&self, labels: &[S]) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

impl Requirement {
    fn matches<S: AsRef<str>>(&self, labels: &[S]) -> bool {
        let mut values = labels
            .iter()
            .map(|l| split_label(l.as_ref()))
            .filter(|(source, name, _)| {
                *name == self.key.name && self.key.source.as_deref().is_none_or(|s| s == *source)
            })
            .map(|(_, _, value)| value);
        match &self.op {
            Op::Exists => values.next().is_some(),
            Op::NotExists => values.next().is_none(),
            Op::In(set) => values.any(|v| set.iter().any(|s| s == v)),
            Op::NotIn(set) => values.all(|v| !set.iter().any(|s| s == v)),
            Op::Gt(n) => values.any(|v| v.parse::<i64>().is_ok_and(|v| v > *n)),
            Op::Lt(n) => values.any(|v| v.parse::<i64>().is_ok_and(|v| v < *n)),
        }
    }
}

/// `source:key=value` into its parts; a label without source has source `unspec`
/// (Cilium's name for it), one without value has the empty value. The source separator
/// is the first ':' before any '='.
fn split_label(label: &str) -> (&str, &str, &str) {
    let (key_part, value) = label.split_once('=').unwrap_or((label, ""));
    let (source, key) = key_part.split_once(':').unwrap_or(("unspec", key_part));
    (source, key, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEB: &[&str] = &[
        "k8s:app=web",
        "k8s:tier=frontend",
        "k8s:io.kubernetes.pod.namespace=default",
        "k8s:replicas=3",
        "container:app=legacy",
    ];

    fn sel(text: &str) -> Selector {
        Selector::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    #[test]
    fn equality_with_and_without_source() {
        assert!(sel("app=web").matches(WEB));
        assert!(sel("app==legacy").matches(WEB), "any source");
        assert!(sel("k8s:app=web").matches(WEB));
        assert!(!sel("k8s:app=legacy").matches(WEB));
        assert!(sel("any:app=legacy").matches(WEB));
        assert!(sel("io.kubernetes.pod.namespace=default").matches(WEB));
    }

    #[test]
    fn set_and_existence_operators() {
        assert!(sel("tier in (backend, frontend)").matches(WEB));
        assert!(!sel("tier notin (frontend)").matches(WEB));
        assert!(
            sel("missing notin (x)").matches(WEB),
            "absent key satisfies notin"
        );
        assert!(sel("app,!db").matches(WEB));
        assert!(!sel("!app").matches(WEB));
        assert!(sel("tier!=backend").matches(WEB));
        assert!(sel("replicas>2,replicas<4").matches(WEB));
        assert!(!sel("replicas>3").matches(WEB));
        assert!(sel("app=web, tier in (a,frontend), !x").matches(WEB));
        assert!(sel("").matches(WEB), "empty selects everything");
    }

    #[test]
    fn reserved_labels() {
        let world = ["reserved:world"];
        assert!(sel("reserved:world").matches(&world));
        assert!(!sel("reserved:host").matches(&world));
        assert!(sel("world").matches(&world), "any source");
        assert!(!sel("k8s:world").matches(&world));
    }

    #[test]
    fn values_may_be_empty() {
        assert!(sel("flag=").matches(&["k8s:flag"]));
        assert!(sel("flag=,app").matches(&["k8s:flag", "k8s:app=x"]));
    }

    #[test]
    fn syntax_errors_are_described() {
        for (bad, want) in [
            ("app=web,", "trailing ','"),
            ("app in web", "expected '('"),
            ("app in (a b)", "expected ',' or ')'"),
            ("=web", "expected a key"),
            ("app web", "expected an operator"),
            ("!", "key after '!'"),
            ("replicas>three", "not an integer"),
            ("app=-web", "invalid label value"),
            ("-app=web", "invalid label key"),
            (":app", "invalid label source"),
            ("app=web tier=x", "expected ','"),
        ] {
            let e = Selector::parse(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{bad:?}: {e}");
        }
    }
}
