//! Kubernetes label key and value syntax, as the API server validates it.

/// Why a label key or value is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key (or its name part) is empty.
    #[error("must not be empty")]
    Empty,
    /// The name part is longer than 63 characters.
    #[error("name part must be at most 63 characters")]
    NameTooLong,
    /// The prefix is longer than 253 characters or not a DNS subdomain.
    #[error("prefix must be a DNS subdomain of at most 253 characters")]
    BadPrefix,
    /// The name (or value) has characters outside `[A-Za-z0-9._-]` or does not begin and end
    /// with an alphanumeric character.
    #[error(
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    )]
    BadName,
    /// The value is longer than 63 characters.
    #[error("must be at most 63 characters")]
    ValueTooLong,
}

/// Validates a label key: `[prefix/]name` (without any Cilium `source:` part).
pub fn validate_key(key: &str) -> Result<(), KeyError> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix
        && (p.is_empty() || p.len() > 253 || !p.split('.').all(is_dns_label))
    {
        return Err(KeyError::BadPrefix);
    }
    if name.is_empty() {
        return Err(KeyError::Empty);
    }
    if name.len() > 63 {
        return Err(KeyError::NameTooLong);
    }
    if !is_qualified_name(name) {
        return Err(KeyError::BadName);
    }
    Ok(())
}

/// Validates a label value: empty, or up to 63 characters of the name syntax.
pub fn validate_value(value: &str) -> Result<(), KeyError> {
    if value.is_empty() {
        return Ok(());
    }
    if value.len() > 63 {
        return Err(KeyError::ValueTooLong);
    }
    if !is_qualified_name(value) {
        return Err(KeyError::BadName);
    }
    Ok(())
}

fn is_qualified_name(s: &str) -> bool {
    let b = s.as_bytes();
    let edge_ok = |c: u8| c.is_ascii_alphanumeric();
    !b.is_empty()
        && edge_ok(b[0])
        && edge_ok(b[b.len() - 1])
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Whether `s` is a DNS label (RFC 1123): lowercase letters, digits and '-', at most 63,
/// alphanumeric at both ends; what Kubernetes asks of label-key prefixes' parts, Service
/// and port names.
pub(crate) fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kubernetes_keys() {
        for k in [
            "app",
            "app.kubernetes.io/name",
            "io.cilium.k8s.namespace.labels.team",
            "a_b-c.d",
            "x/y",
        ] {
            assert_eq!(validate_key(k), Ok(()), "{k}");
        }
    }

    #[test]
    fn rejects_malformed_keys() {
        assert_eq!(validate_key(""), Err(KeyError::Empty));
        assert_eq!(validate_key("-app"), Err(KeyError::BadName));
        assert_eq!(validate_key("Bad_Prefix/app"), Err(KeyError::BadPrefix));
        assert_eq!(validate_key(&"a".repeat(64)), Err(KeyError::NameTooLong));
        assert_eq!(validate_key("app name"), Err(KeyError::BadName));
    }

    #[test]
    fn values_may_be_empty_but_not_malformed() {
        assert_eq!(validate_value(""), Ok(()));
        assert_eq!(validate_value("v1.2"), Ok(()));
        assert_eq!(validate_value("a b"), Err(KeyError::BadName));
        assert_eq!(validate_value(&"a".repeat(64)), Err(KeyError::ValueTooLong));
    }
}
