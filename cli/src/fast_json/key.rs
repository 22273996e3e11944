//! Object keys. serde_json hands every key to the visitor as a string, whatever type is
//! asked for, except numbers and booleans (parsed from the key), options, newtypes, enums
//! and bytes; those are [`Unsupported`] here.

use serde::de::Visitor;
use serde::forward_to_deserialize_any;

use super::Unsupported;
use super::cursor::Cursor;
use super::deserializer::string;

/// The key at the cursor (its opening quote not yet read).
pub struct Key<'a, 'de> {
    cursor: &'a mut Cursor<'de>,
}

impl<'a, 'de> Key<'a, 'de> {
    pub fn new(cursor: &'a mut Cursor<'de>) -> Self {
        Self { cursor }
    }
}

macro_rules! unsupported {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Unsupported> {
            Err(Unsupported)
        }
    )*};
}

impl<'de> serde::Deserializer<'de> for Key<'_, 'de> {
    type Error = Unsupported;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        string(self.cursor, visitor)
    }

    unsupported! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_option deserialize_bytes
        deserialize_byte_buf deserialize_bool
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _visitor: V,
    ) -> Result<V::Value, Unsupported> {
        Err(Unsupported)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Unsupported> {
        Err(Unsupported)
    }

    forward_to_deserialize_any! {
        char str string unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}
