//! The elements of an array and the entries of an object, with serde_json's rules: commas
//! between items, none trailing, keys that are strings, a colon after each key.

use serde::de::{DeserializeSeed, MapAccess, SeqAccess};

use super::Unsupported;
use super::cursor::Cursor;
use super::key::Key;

/// The elements of an array whose `[` was read.
pub struct Array<'a, 'de> {
    cursor: &'a mut Cursor<'de>,
    first: bool,
}

impl<'a, 'de> Array<'a, 'de> {
    pub fn new(cursor: &'a mut Cursor<'de>) -> Self {
        Self {
            cursor,
            first: true,
        }
    }
}

impl<'de> SeqAccess<'de> for Array<'_, 'de> {
    type Error = Unsupported;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Unsupported> {
        if !self.cursor.next_item(&mut self.first, b']')? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.cursor).map(Some)
    }
}

/// The entries of an object whose `{` was read.
pub struct Object<'a, 'de> {
    cursor: &'a mut Cursor<'de>,
    first: bool,
}

impl<'a, 'de> Object<'a, 'de> {
    pub fn new(cursor: &'a mut Cursor<'de>) -> Self {
        Self {
            cursor,
            first: true,
        }
    }
}

impl<'de> MapAccess<'de> for Object<'_, 'de> {
    type Error = Unsupported;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Unsupported> {
        if !self.cursor.next_item(&mut self.first, b'}')? {
            return Ok(None);
        }
        seed.deserialize(Key::new(self.cursor)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Unsupported> {
        self.cursor.eat(b':')?;
        seed.deserialize(&mut *self.cursor)
    }
}
