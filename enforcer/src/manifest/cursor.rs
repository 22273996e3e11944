//! Typed reading of YAML nodes with field paths: every accessor knows where it is
//! (`spec.ingress[0].toPorts[1]`) and reports problems there as diagnostics, so one pass
//! over a document collects every error instead of stopping at the first.
//!
//! Null values read as absent, as in Kubernetes. Strict maps ([`MapCursor::finish`])
//! report fields nobody asked for: a misspelt `fromEndpoint` must not silently widen a
//! policy.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use super::diag::{Diagnostic, Severity, quote};
use super::yaml::{Node, NodeKind};

/// Where diagnostics of one document go.
pub struct DocContext {
    /// File name.
    pub file: Arc<str>,
    /// 1-based document index.
    pub document: usize,
    /// `Kind namespace/name`, once known.
    pub object: RefCell<Option<String>>,
    /// Collected diagnostics.
    pub diags: RefCell<Vec<Diagnostic>>,
}

impl DocContext {
    /// A context for document `document` of `file`.
    pub fn new(file: Arc<str>, document: usize) -> Self {
        Self {
            file,
            document,
            object: RefCell::new(None),
            diags: RefCell::new(Vec::new()),
        }
    }

    /// Records a diagnostic at `node` and `path`.
    pub fn report(&self, severity: Severity, node: Option<&Node>, path: &str, message: String) {
        self.diags.borrow_mut().push(Diagnostic {
            severity,
            file: self.file.clone(),
            document: self.document,
            line: node.map_or(0, |n| n.line),
            col: node.map_or(0, |n| n.col),
            object: self.object.borrow().clone(),
            path: path.to_string(),
            message,
        });
    }

    /// Whether an error was recorded.
    pub fn has_errors(&self) -> bool {
        self.diags
            .borrow()
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// Takes the collected diagnostics.
    pub fn take(&self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.diags.borrow_mut())
    }
}

/// A node and its path inside a document.
#[derive(Clone)]
pub struct Cursor<'a> {
    node: &'a Node,
    path: String,
    ctx: &'a DocContext,
}

impl<'a> Cursor<'a> {
    /// The root of a document.
    pub fn root(node: &'a Node, ctx: &'a DocContext) -> Self {
        Self {
            node,
            path: String::new(),
            ctx,
        }
    }

    /// The field path of this node.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The document context.
    pub fn ctx(&self) -> &'a DocContext {
        self.ctx
    }

    /// Reports an error at this node.
    pub fn error(&self, message: impl Into<String>) {
        self.ctx
            .report(Severity::Error, Some(self.node), &self.path, message.into());
    }

    /// Reports a warning at this node.
    pub fn warn(&self, message: impl Into<String>) {
        self.ctx.report(
            Severity::Warning,
            Some(self.node),
            &self.path,
            message.into(),
        );
    }

    /// Reports an invalid value: `invalid value "X": expected ...`.
    pub fn invalid(&self, expected: &str) {
        let shown = self
            .text()
            .map_or_else(|| self.kind_name().to_string(), quote);
        self.error(format!("invalid value {shown}: expected {expected}"));
    }

    fn child(&self, node: &'a Node, segment: &str) -> Self {
        let path = if self.path.is_empty() || segment.starts_with('[') {
            format!("{}{segment}", self.path)
        } else {
            format!("{}.{segment}", self.path)
        };
        Self {
            node,
            path,
            ctx: self.ctx,
        }
    }

    fn kind_name(&self) -> &'static str {
        match self.node.kind {
            NodeKind::Null => "null",
            NodeKind::Scalar { .. } => "a scalar",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// Whether the node is null.
    pub fn is_null(&self) -> bool {
        self.node.kind == NodeKind::Null
    }

    fn text(&self) -> Option<&'a str> {
        match &self.node.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The node as a mapping; reports an error otherwise.
    pub fn map(&self) -> Option<MapCursor<'a>> {
        match &self.node.kind {
            NodeKind::Map(entries) => Some(MapCursor {
                cur: self.clone(),
                entries,
                used: (0..entries.len()).map(|_| Cell::new(false)).collect(),
            }),
            _ => {
                self.error(format!("expected a mapping, found {}", self.kind_name()));
                None
            }
        }
    }

    /// The node's items as cursors; reports an error if it is not a list.
    pub fn seq(&self) -> Option<Vec<Cursor<'a>>> {
        match &self.node.kind {
            NodeKind::Seq(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, n)| self.child(n, &format!("[{i}]")))
                    .collect(),
            ),
            _ => {
                self.error(format!("expected a list, found {}", self.kind_name()));
                None
            }
        }
    }

    /// Reads every item of a list with `f`, visiting all of them even after one fails so
    /// that every error is reported; `None` if the node is not a list or any item failed.
    pub fn each<T>(&self, mut f: impl FnMut(&Cursor<'a>) -> Option<T>) -> Option<Vec<T>> {
        let items = self.seq()?;
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in &items {
            match f(item) {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A scalar's text, whatever its YAML type (label values like `true` read as "true").
    pub fn scalar(&self) -> Option<&'a str> {
        let t = self.text();
        if t.is_none() {
            self.error(format!("expected a string, found {}", self.kind_name()));
        }
        t
    }

    /// A string: a quoted scalar, or a plain one that is not a number or boolean.
    pub fn string(&self) -> Option<&'a str> {
        match &self.node.kind {
            NodeKind::Scalar { text, plain: false } => Some(text),
            NodeKind::Scalar { text, plain: true } if !looks_typed(text) => Some(text),
            _ => {
                self.invalid("a string");
                None
            }
        }
    }

    /// A boolean (`true`/`false`, unquoted).
    pub fn bool(&self) -> Option<bool> {
        match &self.node.kind {
            NodeKind::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => {
                    self.invalid("true or false");
                    None
                }
            },
            _ => {
                self.invalid("true or false");
                None
            }
        }
    }

    /// An integer written as a number, or as a string when `allow_string`.
    pub fn int(&self, allow_string: bool) -> Option<i64> {
        match &self.node.kind {
            NodeKind::Scalar { text, plain } if *plain || allow_string => {
                parse_int(text).or_else(|| {
                    self.invalid("an integer");
                    None
                })
            }
            _ => {
                self.invalid("an integer");
                None
            }
        }
    }

    /// Whether the node is a list with no items.
    pub fn is_empty_list(&self) -> bool {
        matches!(&self.node.kind, NodeKind::Seq(items) if items.is_empty())
    }

    /// Whether the node is a plain (unquoted) number.
    pub fn is_number(&self) -> bool {
        matches!(&self.node.kind, NodeKind::Scalar { text, plain: true } if parse_int(text).is_some())
    }
}

fn parse_int(text: &str) -> Option<i64> {
    let t = text.strip_prefix('+').unwrap_or(text);
    if t.is_empty()
        || !t
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    t.parse().ok()
}

fn looks_typed(text: &str) -> bool {
    matches!(text, "true" | "True" | "TRUE" | "false" | "False" | "FALSE")
        || parse_int(text).is_some()
}

/// A mapping being read field by field.
pub struct MapCursor<'a> {
    cur: Cursor<'a>,
    entries: &'a [(String, Node)],
    used: Vec<Cell<bool>>,
}

impl<'a> MapCursor<'a> {
    /// The mapping's own cursor.
    pub fn cursor(&self) -> &Cursor<'a> {
        &self.cur
    }

    /// The field `name` if present and not null.
    pub fn get(&self, name: &str) -> Option<Cursor<'a>> {
        let i = self.entries.iter().position(|(k, _)| k == name)?;
        self.used[i].set(true);
        let node = &self.entries[i].1;
        (node.kind != NodeKind::Null).then(|| self.cur.child(node, name))
    }

    /// Whether the field is present and not null.
    pub fn has(&self, name: &str) -> bool {
        self.entries
            .iter()
            .any(|(k, n)| k == name && n.kind != NodeKind::Null)
    }

    /// Every entry as (key, cursor), marking all as used.
    pub fn entries(&self) -> Vec<(&'a str, Cursor<'a>)> {
        self.used.iter().for_each(|u| u.set(true));
        self.entries
            .iter()
            .map(|(k, n)| (k.as_str(), self.cur.child(n, k)))
            .collect()
    }

    /// Marks fields as known but ignored.
    pub fn ignore(&self, names: &[&str]) {
        for (i, (k, _)) in self.entries.iter().enumerate() {
            if names.contains(&k.as_str()) {
                self.used[i].set(true);
            }
        }
    }

    /// The fields nobody read yet, as (key, cursor), marking them as read: for callers
    /// that report unknown fields their own way (a warning instead of an error).
    pub fn unread(&self) -> Vec<(&'a str, Cursor<'a>)> {
        let mut out = Vec::new();
        for (i, (k, n)) in self.entries.iter().enumerate() {
            if !self.used[i].replace(true) {
                out.push((k.as_str(), self.cur.child(n, k)));
            }
        }
        out
    }

    /// Reports every field that was not read as unknown.
    pub fn finish(&self) {
        for (i, (k, n)) in self.entries.iter().enumerate() {
            if !self.used[i].get() {
                self.cur
                    .child(n, k)
                    .error(format!("unknown field {}", quote(k)));
            }
        }
    }
}
