//! [`Keys`]: how a section and a relative key become a full etcd key and back. The only
//! place that knows the layout `<prefix><section>/<relative key>`.

use crate::section::Section;

/// The store's key layout under one prefix (which ends with `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    /// The layout under `prefix`; a missing trailing `/` is added.
    pub(crate) fn new(prefix: &str) -> Keys {
        let mut prefix = prefix.to_owned();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        Keys { prefix }
    }

    /// The prefix every key of `section` starts with.
    pub(crate) fn section(&self, section: Section) -> String {
        format!("{}{}", self.prefix, section.as_str())
    }

    /// The full key of `relative` in `section`.
    pub(crate) fn full(&self, section: Section, relative: &str) -> String {
        format!("{}{}{relative}", self.prefix, section.as_str())
    }

    /// The key relative to `section`, if `full` is a UTF-8 key of that section.
    pub(crate) fn relative(&self, section: Section, full: &[u8]) -> Option<String> {
        let full = std::str::from_utf8(full).ok()?;
        let rest = full.strip_prefix(&self.prefix)?;
        rest.strip_prefix(section.as_str()).map(str::to_owned)
    }
}

/// The key just past every key starting with `prefix` (etcd's range end for a prefix).
pub(crate) fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_relative_are_inverse() {
        let keys = Keys::new("/observe/v1");
        let full = keys.full(Section::Nodes, "node-a");
        assert_eq!(full, "/observe/v1/nodes/node-a");
        assert_eq!(
            keys.relative(Section::Nodes, full.as_bytes()).as_deref(),
            Some("node-a")
        );
        assert_eq!(keys.relative(Section::Ipcache, full.as_bytes()), None);
        assert_eq!(keys.relative(Section::Nodes, b"/other/nodes/x"), None);
        assert_eq!(
            keys.relative(Section::Nodes, b"/observe/v1/nodes/\xff"),
            None
        );
    }

    #[test]
    fn prefix_end_is_the_next_key() {
        assert_eq!(prefix_end("a/"), b"a0".to_vec());
        assert_eq!(prefix_end(""), vec![0]);
    }
}
