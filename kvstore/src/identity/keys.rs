//! The identity key layout in [`Section::Identities`](crate::Section::Identities):
//!
//! - `id/<n>` → the label set's text: the number is taken;
//! - `labels/<labels text>` → `n` in decimal: the label set has a number;
//! - `users/<n>/<node>` → anything: `node` uses `n` (written by nodes through the
//!   [`Publisher`](crate::Publisher), leased, so a dead node's uses vanish).

/// Prefix of the `id/<n>` keys.
pub const ID_PREFIX: &str = "id/";
/// Prefix of the `labels/<labels>` keys.
pub const LABELS_PREFIX: &str = "labels/";
/// Prefix of the `users/<n>/<node>` keys.
pub const USERS_PREFIX: &str = "users/";

/// `id/<n>`.
pub fn id_key(id: u32) -> String {
    format!("{ID_PREFIX}{id}")
}

/// `labels/<labels>`.
pub fn labels_key(labels: &str) -> String {
    format!("{LABELS_PREFIX}{labels}")
}

/// `users/<n>/<node>`: the key a node publishes while it uses identity `id`.
pub fn user_key(id: u32, node: &str) -> String {
    format!("{USERS_PREFIX}{id}/{node}")
}

/// `users/<n>/`: the prefix of every user of `id`.
pub(crate) fn users_of(id: u32) -> String {
    format!("{USERS_PREFIX}{id}/")
}

/// The number in an `id/<n>` key (relative to the section).
pub fn parse_id_key(key: &str) -> Option<u32> {
    parse_number(key.strip_prefix(ID_PREFIX)?)
}

/// The number in a `users/<n>/<node>` key (relative to the section).
pub(crate) fn parse_user_key(key: &str) -> Option<u32> {
    let (id, node) = key.strip_prefix(USERS_PREFIX)?.split_once('/')?;
    if node.is_empty() {
        return None;
    }
    parse_number(id)
}

/// A canonical decimal number (no sign, no leading zeros, fits `u32`).
pub(crate) fn parse_number(text: &str) -> Option<u32> {
    let canonical = text == "0" || (!text.starts_with('0') && !text.is_empty());
    if canonical && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        assert_eq!(parse_id_key(&id_key(256)), Some(256));
        assert_eq!(parse_user_key(&user_key(256, "node-a")), Some(256));
        assert_eq!(labels_key("k8s:app=web"), "labels/k8s:app=web");
        assert_eq!(users_of(7), "users/7/");
    }

    #[test]
    fn bad_keys_and_numbers_are_refused() {
        for bad in ["", "01", "+1", "-1", "1x", "4294967296", " 1"] {
            assert_eq!(parse_number(bad), None, "{bad:?}");
        }
        assert_eq!(parse_id_key("id/"), None);
        assert_eq!(parse_id_key("labels/1"), None);
        assert_eq!(parse_user_key("users/1/"), None);
        assert_eq!(parse_user_key("users/1"), None);
        assert_eq!(parse_user_key("users/x/n"), None);
    }
}
