//! Messages read into an existing value, reusing its strings and vectors: the fields
//! pbjson would allocate anew for every line are overwritten in place instead. A message
//! lists its fields with [`in_place!`]: each field's JSON names (pbjson
//! accepts the proto name and the lowerCamelCase one) and how pbjson reads it
//! ([`super::fields`]).
//!
//! The rules are pbjson's visitor's: unknown keys are skipped (their values must still be
//! JSON), a field given twice (under either name) is refused, a field not given is its
//! default. A `null` value is [`Unsupported`] for every field (pbjson reads it as "unset"
//! for messages and refuses it for the rest; serde_json decides both).

use super::Unsupported;
use super::cursor::{Cursor, head};

/// A message that can be read into an existing value.
pub trait InPlace {
    /// Reads the object at the cursor into `self`; on success every field is the text's
    /// (or its default), on error `self` is unspecified but valid.
    ///
    /// # Errors
    ///
    /// [`Unsupported`]: outside the subset, or refused as pbjson refuses it.
    fn read_in_place(&mut self, cursor: &mut Cursor<'_>) -> Result<(), Unsupported>;
}

/// The fields of one object read so far, by their index in the message's list.
#[derive(Default)]
pub struct Seen(u64);

impl Seen {
    /// Marks field `index`; a field read twice is [`Unsupported`].
    pub fn first(&mut self, index: u32) -> Result<(), Unsupported> {
        let bit = 1u64.checked_shl(index).ok_or(Unsupported)?;
        if self.0 & bit != 0 {
            return Err(Unsupported);
        }
        self.0 |= bit;
        Ok(())
    }

    /// Whether field `index` was read.
    pub fn has(&self, index: u32) -> bool {
        1u64.checked_shl(index).is_some_and(|bit| self.0 & bit != 0)
    }
}

/// A message's JSON names, found by a hash of the key: open addressing over 256 slots,
/// built at compile time, so that a key costs one hash of its first eight bytes and its
/// length, and most of the time one comparison of those (the rest of long keys then).
pub struct KeyTable {
    /// Index into the names plus one; 0 for an empty slot.
    slots: [u8; SLOTS],
    /// Each name's first eight bytes, little-endian, zero-padded.
    heads: [u64; MAX_NAMES],
}

const SLOTS: usize = 256;
const MAX_NAMES: usize = 128;

impl KeyTable {
    /// The table of `names` (at most [`MAX_NAMES`]).
    pub const fn new(names: &[&str]) -> Self {
        assert!(names.len() <= MAX_NAMES, "too many names for one table");
        let mut slots = [0u8; SLOTS];
        let mut heads = [0u64; MAX_NAMES];
        let mut index = 0;
        while index < names.len() {
            let name = names[index].as_bytes();
            heads[index] = head(name);
            let mut slot = slot_of(heads[index], name.len());
            while slots[slot] != 0 {
                slot = (slot + 1) % SLOTS;
            }
            slots[slot] = index as u8 + 1;
            index += 1;
        }
        Self { slots, heads }
    }

    /// The index of `key` in `names` (the names the table was built from); `key_head`
    /// is [`head`] of the key.
    pub fn find(&self, names: &[&str], key: &str, key_head: u64) -> Option<usize> {
        let key = key.as_bytes();
        let mut slot = slot_of(key_head, key.len());
        loop {
            let index = usize::from(*self.slots.get(slot)?).checked_sub(1)?;
            let name = names.get(index)?.as_bytes();
            // Equal heads and lengths settle a name of eight bytes or fewer.
            if *self.heads.get(index)? == key_head
                && name.len() == key.len()
                && (name.len() <= 8 || name.get(8..) == key.get(8..))
            {
                return Some(index);
            }
            slot = (slot + 1) % SLOTS;
        }
    }
}

/// The slot a name starts looking from: a multiplicative hash of its head and length.
const fn slot_of(head: u64, len: usize) -> usize {
    let mixed = (head ^ (len as u64).rotate_left(59)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> 56) as usize % SLOTS
}

/// Implements [`InPlace`] for a message from its field list:
///
/// ```ignore
/// in_place! {
///     Service {
///         name: string = "name";
///         namespace: string = "namespace";
///     }
/// }
/// ```
///
/// `field: kind = "name" | "otherName";` where `kind` is a function of
/// [`fields`](crate::fast_json::fields) (with a type argument for `enumeration`).
macro_rules! in_place {
    ($message:ty { $($field:ident : $kind:ident $(<$arg:ty>)? = $($name:literal)|+ ;)* }) => {
        impl $crate::fast_json::InPlace for $message {
            // Deprecated fields (`Summary`, `reply`, ...) are still read, as pbjson reads them.
            #[allow(deprecated)]
            fn read_in_place(
                &mut self,
                cursor: &mut $crate::fast_json::Cursor<'_>,
            ) -> Result<(), $crate::fast_json::Unsupported> {
                #[allow(non_camel_case_types)]
                #[derive(Clone, Copy)]
                enum Field { $($field,)* }
                const NAMES: &[&str] = &[$($($name,)+)*];
                const FIELDS: &[Field] = &[$($({ let _ = $name; Field::$field },)+)*];
                static KEYS: $crate::fast_json::in_place::KeyTable =
                    $crate::fast_json::in_place::KeyTable::new(NAMES);
                let mut seen = $crate::fast_json::Seen::default();
                cursor.open(b'{')?;
                let mut first = true;
                while cursor.next_item(&mut first, b'}')? {
                    let (key, head) = cursor.key()?;
                    let field = KEYS
                        .find(NAMES, key.as_str(), head)
                        .and_then(|index| FIELDS.get(index).copied());
                    cursor.eat(b':')?;
                    let Some(field) = field else {
                        cursor.skip_value()?;
                        continue;
                    };
                    seen.first(field as u32)?;
                    $crate::fast_json::fields::not_null(cursor)?;
                    match field {
                        $(Field::$field => {
                            $crate::fast_json::fields::$kind$(::<$arg>)?(cursor, &mut self.$field)?
                        })*
                    }
                }
                cursor.close(b'}')?;
                $(if !seen.has(Field::$field as u32) {
                    $crate::fast_json::fields::Reset::reset(&mut self.$field);
                })*
                Ok(())
            }
        }
    };
}

pub(crate) use in_place;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_table_finds_its_names_and_nothing_else() {
        const NAMES: &[&str] = &[
            "time",
            "uuid",
            "IP",
            "l4",
            "source",
            "sourceNames",
            "source_names",
            "destination_port",
            "destination_portx",
            "a",
            "",
            "trace_observation_point",
        ];
        static TABLE: KeyTable = KeyTable::new(NAMES);
        for (index, name) in NAMES.iter().enumerate() {
            let found = TABLE.find(NAMES, name, head(name.as_bytes()));
            assert_eq!(found, Some(index), "{name}");
        }
        for other in [
            "tim",
            "times",
            "ip",
            "destination_porty",
            "destination_por",
            "b",
            "source\0",
        ] {
            assert_eq!(
                TABLE.find(NAMES, other, head(other.as_bytes())),
                None,
                "{other}"
            );
        }
    }

    #[test]
    fn seen_fields_are_refused_the_second_time() {
        let mut seen = Seen::default();
        assert!(seen.first(3).is_ok());
        assert!(seen.first(63).is_ok());
        assert!(seen.has(3) && seen.has(63) && !seen.has(4));
        assert_eq!(seen.first(3), Err(Unsupported));
        assert_eq!(seen.first(64), Err(Unsupported));
    }
}
