//! `serde::Deserializer` for a [`Cursor`]: each method makes the visitor call
//! `serde_json::Deserializer` makes for the same value of the subset, or returns
//! [`Unsupported`] where serde_json would do something else (or fail).

use serde::de::Visitor;

use super::Unsupported;
use super::access::{Array, Object};
use super::cursor::{Cursor, Text};

/// Numbers: serde_json reads any integer type the same way and lets the visitor check the
/// range; here only non-negative integers, as `visit_u64`.
macro_rules! unsigned_number {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
            match self.peek() {
                Some(b'0'..=b'9') => visitor.visit_u64(self.unsigned()?),
                _ => Err(Unsupported),
            }
        }
    )*};
}

/// What serde_json reads in ways this reader does not copy.
macro_rules! unsupported {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Unsupported> {
            Err(Unsupported)
        }
    )*};
}

impl<'de> serde::Deserializer<'de> for &mut Cursor<'de> {
    type Error = Unsupported;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.peek() {
            Some(b'n') => {
                self.literal(b"null")?;
                visitor.visit_unit()
            }
            Some(b't' | b'f') => self.deserialize_bool(visitor),
            Some(b'0'..=b'9') => visitor.visit_u64(self.unsigned()?),
            Some(b'"') => string(self, visitor),
            Some(b'[') => array(self, visitor),
            Some(b'{') => object(self, visitor),
            _ => Err(Unsupported),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.peek() {
            Some(b't') => {
                self.literal(b"true")?;
                visitor.visit_bool(true)
            }
            Some(b'f') => {
                self.literal(b"false")?;
                visitor.visit_bool(false)
            }
            _ => Err(Unsupported),
        }
    }

    unsigned_number! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_f32 deserialize_f64
    }

    unsupported! {
        deserialize_i128 deserialize_u128 deserialize_char deserialize_bytes
        deserialize_byte_buf
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.peek() {
            Some(b'"') => string(self, visitor),
            _ => Err(Unsupported),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.peek() {
            Some(b'n') => {
                self.literal(b"null")?;
                visitor.visit_none()
            }
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.peek() {
            Some(b'n') => {
                self.literal(b"null")?;
                visitor.visit_unit()
            }
            _ => Err(Unsupported),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        // serde_json's `RawValue` travels as a newtype with a private name.
        if name.starts_with('$') {
            return Err(Unsupported);
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.peek() {
            Some(b'[') => array(self, visitor),
            _ => Err(Unsupported),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.peek() {
            Some(b'{') => object(self, visitor),
            _ => Err(Unsupported),
        }
    }

    /// serde_json also reads a struct from an array; here only from an object.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Unsupported> {
        Err(Unsupported)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        self.skip_value()?;
        visitor.visit_unit()
    }
}

/// A string, borrowed when it has no escapes, as serde_json hands it over.
pub fn string<'de, V: Visitor<'de>>(
    cursor: &mut Cursor<'de>,
    visitor: V,
) -> Result<V::Value, Unsupported> {
    match cursor.string()? {
        Text::Borrowed(text) => visitor.visit_borrowed_str(text),
        Text::Copied(text) => visitor.visit_str(text),
    }
}

/// `[...]`: the visitor reads the elements, then the array must end.
fn array<'de, V: Visitor<'de>>(
    cursor: &mut Cursor<'de>,
    visitor: V,
) -> Result<V::Value, Unsupported> {
    cursor.open(b'[')?;
    let value = visitor.visit_seq(Array::new(cursor))?;
    cursor.close(b']')?;
    Ok(value)
}

/// `{...}`: the visitor reads the entries, then the object must end.
fn object<'de, V: Visitor<'de>>(
    cursor: &mut Cursor<'de>,
    visitor: V,
) -> Result<V::Value, Unsupported> {
    cursor.open(b'{')?;
    let value = visitor.visit_map(Object::new(cursor))?;
    cursor.close(b'}')?;
    Ok(value)
}
