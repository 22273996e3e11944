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

/// Reads a label selector; `None` after reporting errors.
pub fn read_selector(c: &Cursor<'_>, style: KeyStyle) -> Option<Selector> {
    let m = c.map()?;
    let mut reqs = Vec::new();
    let mut ok = true;
    if let Some(ml) = m.get("matchLabels") {
        for (key, value) in ml.map().map(|x| x.entries()).unwrap_or_default() {
            let (Some(k), Some(v)) = (sel_key(&value, key, style), value.scalar()) else {
                ok = false;
                continue;
            };
            if let Err(e) = validate_value(v) {
                value.error(format!("invalid label value {v:?}: {e}"));
                ok = false;
                continue;
            }
            reqs.push(Requirement::equals(k, v));
        }
    }
    if let Some(exprs) = m.get("matchExpressions") {
        for e in exprs.seq().unwrap_or_default() {
            match read_expression(&e, style) {
                Some(r) => reqs.push(r),
                None => ok = false,
            }
        }
    }
    m.finish();
    ok.then(|| Selector::new(reqs))
}

fn read_expression(c: &Cursor<'_>, style: KeyStyle) -> Option<Requirement> {
    let m = c.map()?;
    let key = m.get("key");
    let op = m.get("operator");
    let values = m.get("values");
    m.finish();
    let Some(key_c) = key else {
        c.error("missing field \"key\"");
        return None;
    };
    let Some(op_c) = op else {
        c.error("missing field \"operator\"");
        return None;
    };
    let key = sel_key(&key_c, key_c.string()?, style)?;
    let operator = op_c.string().and_then(|s| {
        let parsed = Operator::parse(s);
        if parsed.is_none() {
            op_c.invalid("one of In, NotIn, Exists, DoesNotExist");
        }
        parsed
    })?;
    let mut vals = Vec::new();
    if let Some(v) = &values {
        for item in v.seq()? {
            let s = item.scalar()?;
            if let Err(e) = validate_value(s) {
                item.error(format!("invalid label value {s:?}: {e}"));
                return None;
            }
            vals.push(s.to_string());
        }
    }
    let needs_values = matches!(operator, Operator::In | Operator::NotIn);
    if needs_values && vals.is_empty() {
        c.error("operator In and NotIn need a non-empty \"values\" list");
        return None;
    }
    if !needs_values && !vals.is_empty() {
        c.error("operator Exists and DoesNotExist take no \"values\"");
        return None;
    }
    Some(Requirement::new(key, operator, vals))
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
