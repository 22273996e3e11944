//! Label selectors in manifests (`matchLabels`, `matchExpressions`).

use super::cursor::Cursor;
use crate::labels::{Operator, Requirement, SelKey, Selector, validate_key, validate_value};

/// How selector keys are qualified.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum KeyStyle {
    /// Cilium policies: `source:key` as written, bare keys match any source.
    Cilium,
    /// Kubernetes NetworkPolicy: every key is a `k8s:` key.
    Kubernetes,
}

/// Reads a label selector; `None` after reporting errors. Every label and expression is
/// checked, so one call reports all of a selector's problems.
pub fn read_selector(c: &Cursor<'_>, style: KeyStyle) -> Option<Selector> {
    let m = c.map()?;
    let mut reqs = Vec::new();
    let mut ok = true;
    if let Some(ml) = m.get("matchLabels") {
        match ml.map() {
            Some(labels) => {
                for (key, value) in labels.entries() {
                    match read_label(key, &value, style) {
                        Some(r) => reqs.push(r),
                        None => ok = false,
                    }
                }
            }
            None => ok = false,
        }
    }
    if let Some(exprs) = m.get("matchExpressions") {
        match exprs.seq() {
            Some(items) => {
                for e in items {
                    match read_expression(&e, style) {
                        Some(r) => reqs.push(r),
                        None => ok = false,
                    }
                }
            }
            None => ok = false,
        }
    }
    m.finish();
    ok.then(|| Selector::new(reqs))
}

fn read_label(key: &str, value: &Cursor<'_>, style: KeyStyle) -> Option<Requirement> {
    let k = sel_key(value, key, style);
    let v = value.scalar().filter(|v| check_value(value, v));
    Some(Requirement::equals(k?, v?))
}

fn check_value(c: &Cursor<'_>, v: &str) -> bool {
    match validate_value(v) {
        Ok(()) => true,
        Err(e) => {
            c.error(format!("invalid label value {v:?}: {e}"));
            false
        }
    }
}

fn read_expression(c: &Cursor<'_>, style: KeyStyle) -> Option<Requirement> {
    let m = c.map()?;
    let key = m.get("key");
    let op = m.get("operator");
    let values = m.get("values");
    m.finish();
    let key = match &key {
        Some(k) => k.string().and_then(|raw| sel_key(k, raw, style)),
        None => {
            c.error("missing field \"key\"");
            None
        }
    };
    let operator = match &op {
        Some(o) => o.string().and_then(|s| {
            let parsed = Operator::parse(s);
            if parsed.is_none() {
                o.invalid("one of In, NotIn, Exists, DoesNotExist");
            }
            parsed
        }),
        None => {
            c.error("missing field \"operator\"");
            None
        }
    };
    let vals = match &values {
        Some(v) => read_values(v),
        None => Some(Vec::new()),
    };
    let (key, operator, vals) = (key, operator?, vals?);
    let needs_values = matches!(operator, Operator::In | Operator::NotIn);
    if needs_values && vals.is_empty() {
        c.error("operator In and NotIn need a non-empty \"values\" list");
        return None;
    }
    if !needs_values && !vals.is_empty() {
        c.error("operator Exists and DoesNotExist take no \"values\"");
        return None;
    }
    Some(Requirement::new(key?, operator, vals))
}

fn read_values(c: &Cursor<'_>) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut ok = true;
    for item in c.seq()? {
        match item.scalar().filter(|s| check_value(&item, s)) {
            Some(s) => out.push(s.to_string()),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn sel_key(c: &Cursor<'_>, raw: &str, style: KeyStyle) -> Option<SelKey> {
    let key = match style {
        KeyStyle::Cilium => SelKey::parse(raw),
        KeyStyle::Kubernetes => SelKey::k8s(raw),
    };
    if let Err(e) = validate_key(&key.key) {
        c.error(format!("invalid label key {raw:?}: {e}"));
        return None;
    }
    Some(key)
}
