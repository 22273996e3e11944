//! [`Label`] (source, key, value) and [`LabelSet`], the sorted set an identity is made of.

use std::fmt;

/// Where a label comes from.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Source {
    /// Kubernetes: pod labels and the labels Cilium derives from the pod.
    K8s,
    /// Reserved identities (`reserved:host`, `reserved:world`, ...).
    Reserved,
    /// CIDR identities (`cidr:10.0.0.0/8`).
    Cidr,
    /// Any other source, by name.
    Other(String),
}

impl Source {
    /// Parses a source name (`k8s`, `reserved`, `cidr`, or any other word).
    pub fn parse(s: &str) -> Self {
        match s {
            "k8s" => Self::K8s,
            "reserved" => Self::Reserved,
            "cidr" => Self::Cidr,
            other => Self::Other(other.to_string()),
        }
    }

    /// The source name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::K8s => "k8s",
            Self::Reserved => "reserved",
            Self::Cidr => "cidr",
            Self::Other(s) => s,
        }
    }
}

/// One label: `source:key=value` (`value` may be empty, as for `reserved:host`).
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Label {
    /// Where the label comes from.
    pub source: Source,
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

impl Label {
    /// A label with source `k8s`.
    pub fn k8s(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            source: Source::K8s,
            key: key.into(),
            value: value.into(),
        }
    }

    /// A `reserved:` label with an empty value.
    pub fn reserved(name: &str) -> Self {
        Self {
            source: Source::Reserved,
            key: name.into(),
            value: String::new(),
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source.as_str(), self.key)?;
        if !self.value.is_empty() {
            write!(f, "={}", self.value)?;
        }
        Ok(())
    }
}

/// A sorted set of labels with at most one label per (source, key).
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
pub struct LabelSet(Vec<Label>);

impl LabelSet {
    /// Builds a set; for a repeated (source, key) the last label wins.
    pub fn new(labels: impl IntoIterator<Item = Label>) -> Self {
        let mut v: Vec<Label> = Vec::new();
        for l in labels {
            match v
                .iter_mut()
                .find(|x| x.source == l.source && x.key == l.key)
            {
                Some(existing) => *existing = l,
                None => v.push(l),
            }
        }
        v.sort();
        Self(v)
    }

    /// The labels, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &Label> {
        self.0.iter()
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of the label with this source and key.
    pub fn get(&self, source: &Source, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|l| &l.source == source && l.key == key)
            .map(|l| l.value.as_str())
    }

    /// Labels as `source:key=value` strings (Hubble's `Endpoint.labels`).
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

impl fmt::Display for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, l) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{l}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_sorted_and_keyed_by_source_and_key() {
        let s = LabelSet::new([
            Label::k8s("b", "1"),
            Label::k8s("a", "1"),
            Label::k8s("b", "2"),
        ]);
        assert_eq!(s.to_string(), "k8s:a=1,k8s:b=2");
        assert_eq!(s.get(&Source::K8s, "b"), Some("2"));
        assert_eq!(
            LabelSet::new([Label::reserved("host")]).to_string(),
            "reserved:host"
        );
    }
}
