//! Validation of the short names callers give to runs, nodes, pods and bpffs directories. Names
//! end up in namespace and file names, so they are kept to a small, shell-safe alphabet.

use crate::error::LabError;

/// The longest accepted name; with the 10-character prefix a namespace name stays short.
const MAX_LEN: usize = 32;

/// Accepts 1 to 32 lowercase ASCII letters, digits and `-`, starting with a letter or digit.
pub(crate) fn validate(name: &str) -> Result<(), LabError> {
    let reason = if name.is_empty() || name.len() > MAX_LEN {
        Some("must be 1 to 32 characters long")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Some("only lowercase letters, digits and `-` are allowed")
    } else if name.starts_with('-') {
        Some("must start with a letter or digit")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(LabError::InvalidName {
            name: name.to_owned(),
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_short_lowercase_names() {
        for ok in ["e2e", "node1", "web-0", "a", &"x".repeat(32)] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_names_unsafe_for_namespaces_and_paths() {
        for bad in [
            "",
            "Node1",
            "a b",
            "../x",
            "a/b",
            "-x",
            "ä",
            &"x".repeat(33),
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }
}
