//! YAML streams into positioned [`Node`] trees, one per document.
//!
//! Scalars keep their source text and whether they were written plain (unquoted); typing
//! (`80` versus `"80"`, `true` versus `"true"`) is decided by the reader that knows what a
//! field expects. The parser rejects duplicate keys and bounds alias expansion.

use saphyr::{MarkedYaml, ScalarStyle, YamlData, YamlLoader};
use saphyr_parser::Parser;

/// A YAML node with its position (1-based line and column).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub kind: NodeKind,
    /// Line of the node's start.
    pub line: u32,
    /// Column of the node's start.
    pub col: u32,
}

/// The content of a [`Node`].
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// `null`, `~` or nothing.
    Null,
    /// A scalar and whether it was written without quotes.
    Scalar {
        /// The scalar's text.
        text: String,
        /// Written plain (unquoted): eligible to be a number, boolean or null.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping with scalar keys, in document order.
    Map(Vec<(String, Node)>),
}

/// A syntax error with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong.
    pub message: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

/// Most alias-expanded nodes a stream may produce (a guard against "billion laughs").
const ALIAS_LIMIT: usize = 100_000;

/// Parses every document of a YAML stream.
pub fn parse_stream(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let mut loader: YamlLoader<'_, MarkedYaml<'_>> = YamlLoader::default();
    loader.early_parse(false);
    loader.alias_limit(ALIAS_LIMIT);
    let mut parser = Parser::new_from_str(text);
    let scan = parser.load(&mut loader, true);
    let error = scan.err().or_else(|| loader.error().cloned());
    if let Some(e) = error {
        let m = e.marker();
        return Err(SyntaxError {
            message: e.info().to_string(),
            line: pos(m.line()),
            col: pos(m.col() + 1),
        });
    }
    loader.into_documents().iter().map(convert).collect()
}

fn pos(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn convert(y: &MarkedYaml<'_>) -> Result<Node, SyntaxError> {
    let (line, col) = (pos(y.span.start.line()), pos(y.span.start.col() + 1));
    let err = |message: &str| SyntaxError {
        message: message.into(),
        line,
        col,
    };
    let kind = match &y.data {
        YamlData::Representation(text, style, _) => scalar(text, *style),
        YamlData::Value(v) => NodeKind::Scalar {
            text: format!("{v:?}"),
            plain: true,
        },
        YamlData::Sequence(items) => {
            NodeKind::Seq(items.iter().map(convert).collect::<Result<_, _>>()?)
        }
        YamlData::Mapping(m) => {
            let mut entries = Vec::with_capacity(m.len());
            for (k, v) in m.iter() {
                let key = convert(k)?;
                let NodeKind::Scalar { text, .. } = key.kind else {
                    return Err(SyntaxError {
                        message: "mapping keys must be strings".into(),
                        line: key.line,
                        col: key.col,
                    });
                };
                entries.push((text, convert(v)?));
            }
            NodeKind::Map(entries)
        }
        YamlData::Tagged(_, inner) => return convert(inner),
        YamlData::Alias(_) => return Err(err("unresolved alias")),
        YamlData::BadValue => return Err(err("invalid value")),
    };
    Ok(Node { kind, line, col })
}

fn scalar(text: &str, style: ScalarStyle) -> NodeKind {
    let plain = style == ScalarStyle::Plain;
    if plain && matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        NodeKind::Null
    } else {
        NodeKind::Scalar {
            text: text.to_string(),
            plain,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_keep_positions_and_scalar_styles() {
        let docs = parse_stream("a: 1\nb: \"x\"\n---\n- null\n").unwrap();
        assert_eq!(docs.len(), 2);
        let NodeKind::Map(m) = &docs[0].kind else {
            panic!("not a map")
        };
        assert_eq!(m[0].0, "a");
        assert_eq!(
            m[0].1.kind,
            NodeKind::Scalar {
                text: "1".into(),
                plain: true
            }
        );
        assert_eq!(
            m[1].1.kind,
            NodeKind::Scalar {
                text: "x".into(),
                plain: false
            }
        );
        assert_eq!((m[1].1.line, m[1].1.col), (2, 4));
        let NodeKind::Seq(s) = &docs[1].kind else {
            panic!("not a seq")
        };
        assert_eq!(s[0].kind, NodeKind::Null);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse_stream("a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.line >= 1, "{e:?}");
        let e = parse_stream("a: 1\na: 2\n").unwrap_err();
        assert!(
            e.message.contains("duplicate") || e.message.contains("key"),
            "{e:?}"
        );
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        assert!(parse_stream(&text).is_err());
    }
}
