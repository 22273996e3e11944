//! `metadata`: names, namespaces and labels, validated as the API server would.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::cursor::{Cursor, MapCursor};
use super::diag::quote;
use crate::labels::{validate_key, validate_value};
use crate::policy::origin::{PolicyKind, PolicyRef};

/// What `metadata` holds that we use.
pub struct Meta {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, or `default` for namespaced kinds.
    pub namespace: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
}

/// The `ObjectMeta` fields Kubernetes defines: read, or accepted and ignored. Any other
/// key is warned about, as `kubectl apply` does with strict field validation.
const KNOWN_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "annotations",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "ownerReferences",
    "finalizers",
    "generateName",
    "selfLink",
];

/// Reads `metadata` of `doc`; `namespaced` objects default to namespace `default`. Name,
/// namespace and labels are all checked before giving up, and unknown keys are warned
/// about.
pub fn read_meta(doc: &MapCursor<'_>, namespaced: bool) -> Option<Meta> {
    let Some(meta) = doc.get("metadata") else {
        doc.cursor().error("missing field \"metadata\"");
        return None;
    };
    let m = meta.map()?;
    let name = match m.get("name") {
        Some(c) => c.string().filter(|n| check_name(&c, n)).map(str::to_string),
        None => {
            m.cursor().error("missing field \"name\"");
            None
        }
    };
    let namespace = match (namespaced, m.get("namespace")) {
        (false, _) => Some(String::new()),
        (true, None) => Some("default".to_string()),
        (true, Some(c)) => c.string().filter(|n| check_name(&c, n)).map(str::to_string),
    };
    let labels = m.get("labels").map(|c| read_labels(&c)).unwrap_or_default();
    warn_unknown(&m);
    Some(Meta {
        name: name?,
        namespace: namespace?,
        labels,
    })
}

/// Names the object in every later diagnostic of its document: `Kind namespace/name`.
pub fn name_object(doc: &MapCursor<'_>, kind: &str, namespace: &str, name: &str) {
    *doc.cursor().ctx().object.borrow_mut() = Some(format!("{kind} {namespace}/{name}"));
}

/// A policy's origin from its `metadata` as read (empty names when it was invalid, so the
/// rules are still read and their errors reported); a valid one names the object.
pub fn policy_origin(doc: &MapCursor<'_>, kind: PolicyKind, meta: Option<&Meta>) -> Arc<PolicyRef> {
    let (namespace, name) =
        meta.map_or_else(Default::default, |m| (m.namespace.clone(), m.name.clone()));
    let origin = Arc::new(PolicyRef {
        kind,
        namespace,
        name,
    });
    if meta.is_some() {
        *doc.cursor().ctx().object.borrow_mut() = Some(origin.to_string());
    }
    origin
}

/// The annotation putting a policy in audit mode (`audit`) or not (`enforce`, the default).
pub const MODE_ANNOTATION: &str = "observe.io/mode";

/// Whether the policy in `doc` is in audit mode ([`MODE_ANNOTATION`]); `None` after
/// reporting an invalid value.
pub fn read_audit_mode(doc: &MapCursor<'_>) -> Option<bool> {
    let annotation = (|| {
        let meta = doc.get("metadata")?.map()?;
        meta.get("annotations")?.map()?.get(MODE_ANNOTATION)
    })();
    let Some(c) = annotation else {
        return Some(false);
    };
    match c.string()? {
        "audit" => Some(true),
        "enforce" => Some(false),
        _ => {
            c.invalid("\"audit\" or \"enforce\"");
            None
        }
    }
}

fn warn_unknown(m: &MapCursor<'_>) {
    m.ignore(KNOWN_FIELDS);
    for (key, c) in m.unread() {
        c.warn(format!(
            "unknown field {}",
            quote(&format!("metadata.{key}"))
        ));
    }
}

/// Reads a `string → string` label map, validating keys and values.
pub fn read_labels(c: &Cursor<'_>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(m) = c.map() else { return out };
    for (key, value) in m.entries() {
        if let Err(e) = validate_key(key) {
            value.error(format!("invalid label key {key:?}: {e}"));
            continue;
        }
        let Some(v) = value.scalar() else { continue };
        if let Err(e) = validate_value(v) {
            value.error(format!("invalid label value {v:?}: {e}"));
            continue;
        }
        out.insert(key.to_string(), v.to_string());
    }
    out
}

/// Checks a DNS-subdomain-style object name (lowercase alphanumerics, '-' and '.', at most
/// 253 characters, alphanumeric at both ends).
fn check_name(c: &Cursor<'_>, name: &str) -> bool {
    let b = name.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 253
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|&x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == b'-' || x == b'.');
    if !ok {
        c.invalid("a lowercase DNS name (letters, digits, '-', '.')");
    }
    ok
}
