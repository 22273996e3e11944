//! [`Selector`]: a label selector (matchLabels + matchExpressions) over identity labels,
//! with Cilium's source-qualified keys: `k8s:app` matches only Kubernetes labels, `any:app`
//! (or a bare `app`) matches a label of any source.

use std::fmt;

use super::{LabelSet, Source};

/// A selector key: a source (or any source) and a key.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct SelKey {
    /// `None` matches labels of any source.
    pub source: Option<Source>,
    /// The label key.
    pub key: String,
}

impl SelKey {
    /// Parses `source:key`, or a bare `key` (any source), the way Cilium sanitizes
    /// user-written selector keys. `any:key` is the explicit form of a bare key.
    pub fn parse(s: &str) -> Self {
        match s.split_once(':') {
            Some(("any", key)) => Self {
                source: None,
                key: key.into(),
            },
            Some((source, key)) => Self {
                source: Some(Source::parse(source)),
                key: key.into(),
            },
            None => Self {
                source: None,
                key: s.into(),
            },
        }
    }

    /// A `k8s:` key.
    pub fn k8s(key: &str) -> Self {
        Self {
            source: Some(Source::K8s),
            key: key.into(),
        }
    }

    /// A `reserved:` key.
    pub fn reserved(name: &str) -> Self {
        Self {
            source: Some(Source::Reserved),
            key: name.into(),
        }
    }

    fn values<'a>(&'a self, labels: &'a LabelSet) -> impl Iterator<Item = &'a str> + 'a {
        labels
            .iter()
            .filter(move |l| {
                l.key == self.key && self.source.as_ref().is_none_or(|s| *s == l.source)
            })
            .map(|l| l.value.as_str())
    }
}

impl fmt::Display for SelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            None => write!(f, "{}", self.key),
            Some(s) => write!(f, "{}:{}", s.as_str(), self.key),
        }
    }
}

/// A matchExpressions operator.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Operator {
    /// The label exists with one of the values.
    In,
    /// The label does not exist, or exists with none of the values.
    NotIn,
    /// The label exists.
    Exists,
    /// The label does not exist.
    DoesNotExist,
}

impl Operator {
    /// Parses the Kubernetes operator name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "In" => Self::In,
            "NotIn" => Self::NotIn,
            "Exists" => Self::Exists,
            "DoesNotExist" => Self::DoesNotExist,
            _ => return None,
        })
    }
}

/// One requirement of a selector.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Requirement {
    /// The key.
    pub key: SelKey,
    /// The operator.
    pub op: Operator,
    /// Values for In and NotIn, sorted and deduplicated.
    pub values: Vec<String>,
}

impl Requirement {
    /// A requirement; `values` is sorted and deduplicated.
    pub fn new(key: SelKey, op: Operator, values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> = values.into_iter().collect();
        values.sort();
        values.dedup();
        Self { key, op, values }
    }

    /// `key=value`, as matchLabels writes it.
    pub fn equals(key: SelKey, value: &str) -> Self {
        Self::new(key, Operator::In, [value.to_string()])
    }

    /// Whether `labels` satisfy this requirement.
    pub fn matches(&self, labels: &LabelSet) -> bool {
        let mut values = self.key.values(labels);
        match self.op {
            Operator::Exists => values.next().is_some(),
            Operator::DoesNotExist => values.next().is_none(),
            Operator::In => values.any(|v| self.values.iter().any(|x| x == v)),
            Operator::NotIn => !values.any(|v| self.values.iter().any(|x| x == v)),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op {
            Operator::In if self.values.len() == 1 => write!(f, "{}={}", self.key, self.values[0]),
            Operator::In => write!(f, "{} in ({})", self.key, self.values.join(",")),
            Operator::NotIn => write!(f, "{} notin ({})", self.key, self.values.join(",")),
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
        }
    }
}

/// A label selector: the AND of its requirements; no requirement selects everything.
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Selector {
    reqs: Vec<Requirement>,
}

impl Selector {
    /// The selector matching every label set.
    pub fn all() -> Self {
        Self::default()
    }

    /// A selector of these requirements (kept sorted so equal selectors compare equal).
    pub fn new(reqs: impl IntoIterator<Item = Requirement>) -> Self {
        let mut reqs: Vec<Requirement> = reqs.into_iter().collect();
        reqs.sort();
        reqs.dedup();
        Self { reqs }
    }

    /// This selector with one more requirement.
    pub fn with(&self, req: Requirement) -> Self {
        Self::new(self.reqs.iter().cloned().chain([req]))
    }

    /// This selector ANDed with `other`.
    pub fn and(&self, other: &Selector) -> Self {
        Self::new(self.reqs.iter().chain(&other.reqs).cloned())
    }

    /// This selector without requirements on `key`.
    pub fn without(&self, key: &SelKey) -> Self {
        Self::new(self.reqs.iter().filter(|r| &r.key != key).cloned())
    }

    /// The requirements.
    pub fn requirements(&self) -> &[Requirement] {
        &self.reqs
    }

    /// Whether the selector has no requirement (selects everything).
    pub fn is_all(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &LabelSet) -> bool {
        self.reqs.iter().all(|r| r.matches(labels))
    }

    /// Whether a requirement uses exactly this key.
    pub fn has_key(&self, key: &SelKey) -> bool {
        self.reqs.iter().any(|r| &r.key == key)
    }

    /// Whether a requirement's key has this source (`None`: any source) and starts with
    /// `prefix`.
    pub fn has_key_prefix(&self, source: Option<&Source>, prefix: &str) -> bool {
        self.reqs
            .iter()
            .any(|r| r.key.source.as_ref() == source && r.key.key.starts_with(prefix))
    }

    /// Whether any requirement uses a `reserved:` key.
    pub fn has_reserved_key(&self) -> bool {
        self.reqs
            .iter()
            .any(|r| r.key.source == Some(Source::Reserved))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, r) in self.reqs.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{r}")?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::Label;

    fn pod() -> LabelSet {
        LabelSet::new([
            Label::k8s("app", "web"),
            Label::k8s("tier", "front"),
            Label::k8s("io.kubernetes.pod.namespace", "shop"),
        ])
    }

    #[test]
    fn bare_and_any_keys_match_every_source() {
        assert_eq!(SelKey::parse("app"), SelKey::parse("any:app"));
        let s = Selector::new([Requirement::equals(SelKey::parse("app"), "web")]);
        assert!(s.matches(&pod()));
    }

    #[test]
    fn source_qualified_keys_match_only_that_source() {
        let k8s = Selector::new([Requirement::equals(SelKey::parse("k8s:app"), "web")]);
        let reserved = Selector::new([Requirement::equals(SelKey::parse("reserved:app"), "web")]);
        assert!(k8s.matches(&pod()));
        assert!(!reserved.matches(&pod()));
    }

    #[test]
    fn operators_follow_kubernetes_semantics() {
        let req = |k: &str, op, v: &[&str]| {
            Requirement::new(SelKey::parse(k), op, v.iter().map(|s| s.to_string()))
        };
        let p = pod();
        assert!(req("tier", Operator::In, &["front", "back"]).matches(&p));
        assert!(!req("tier", Operator::NotIn, &["front"]).matches(&p));
        assert!(req("missing", Operator::NotIn, &["x"]).matches(&p));
        assert!(req("app", Operator::Exists, &[]).matches(&p));
        assert!(req("missing", Operator::DoesNotExist, &[]).matches(&p));
        assert!(!req("app", Operator::DoesNotExist, &[]).matches(&p));
    }

    #[test]
    fn empty_selector_matches_everything_and_conjunction_narrows() {
        assert!(Selector::all().matches(&LabelSet::default()));
        let s = Selector::all()
            .with(Requirement::equals(SelKey::parse("app"), "web"))
            .with(Requirement::equals(SelKey::parse("tier"), "back"));
        assert!(!s.matches(&pod()));
        assert_eq!(s.to_string(), "{app=web, tier=back}");
    }
}
