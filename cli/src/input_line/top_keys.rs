//! Which shape keys a JSON object has at its top level: an event kind that is skipped
//! ([`super::SKIPPED_KEYS`]) or one that makes a response ([`super::RESPONSE_KEYS`]).
//! Values are skipped unread.

use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::{RESPONSE_KEYS, SKIPPED_KEYS};

/// The shape keys present.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TopKeys {
    /// Some key of [`SKIPPED_KEYS`].
    pub skipped: bool,
    /// Some key of [`RESPONSE_KEYS`].
    pub response: bool,
}

impl<'de> Deserialize<'de> for TopKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(KeysVisitor)
    }
}

struct KeysVisitor;

impl<'de> Visitor<'de> for KeysVisitor {
    type Value = TopKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopKeys, A::Error> {
        let mut keys = TopKeys::default();
        while let Some(key) = map.next_key::<&str>()? {
            keys.skipped |= SKIPPED_KEYS.contains(&key);
            keys.response |= RESPONSE_KEYS.contains(&key);
            map.next_value::<IgnoredAny>()?;
        }
        Ok(keys)
    }
}
