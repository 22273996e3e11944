//! How pbjson reads each kind of field, as functions over a [`Cursor`] and the field:
//! the fields that allocate (strings, repeated strings, messages) are read in place; the
//! others go through the very `Deserialize` impls pbjson generated (enums, well-known
//! types, messages without strings), over this module's reader.

use std::str::FromStr;

use observe_proto::Timestamp;
use serde::Deserialize;

use super::Unsupported;
use super::cursor::Cursor;
use super::in_place::InPlace;

/// `null` is left to serde_json (see [`super::in_place`]).
pub fn not_null(cursor: &mut Cursor<'_>) -> Result<(), Unsupported> {
    match cursor.peek() {
        Some(b'n') => Err(Unsupported),
        _ => Ok(()),
    }
}

/// `string`: a JSON string.
pub fn string(cursor: &mut Cursor<'_>, field: &mut String) -> Result<(), Unsupported> {
    cursor.string_into(field)
}

/// `repeated string`: an array of strings.
pub fn strings(cursor: &mut Cursor<'_>, field: &mut Vec<String>) -> Result<(), Unsupported> {
    array(cursor, field, |cursor, item| cursor.string_into(item))
}

/// A message read in place.
pub fn message<T: InPlace + Default>(
    cursor: &mut Cursor<'_>,
    field: &mut Option<T>,
) -> Result<(), Unsupported> {
    field.get_or_insert_with(T::default).read_in_place(cursor)
}

/// `repeated` messages read in place.
pub fn messages<T: InPlace + Default>(
    cursor: &mut Cursor<'_>,
    field: &mut Vec<T>,
) -> Result<(), Unsupported> {
    array(cursor, field, |cursor, item| item.read_in_place(cursor))
}

/// An optional message through its pbjson impl (`x = map.next_value()?`, never null
/// here).
pub fn leaf<'de, T: Deserialize<'de>>(
    cursor: &mut Cursor<'de>,
    field: &mut Option<T>,
) -> Result<(), Unsupported> {
    *field = Some(T::deserialize(cursor)?);
    Ok(())
}

/// A `Timestamp` (optional message), the agent's shape read here, any other text by
/// `Timestamp::from_str`, as its serde impl reads it.
pub fn timestamp(
    cursor: &mut Cursor<'_>,
    field: &mut Option<Timestamp>,
) -> Result<(), Unsupported> {
    let text = cursor.string()?;
    let text = text.as_str();
    *field = Some(match super::timestamp::parse(text) {
        Some(time) => time,
        None => text.parse().map_err(|_| Unsupported)?,
    });
    Ok(())
}

/// Any other field through its serde impl (`bool`, repeated messages without strings).
pub fn value<'de, T: Deserialize<'de>>(
    cursor: &mut Cursor<'de>,
    field: &mut T,
) -> Result<(), Unsupported> {
    *field = T::deserialize(cursor)?;
    Ok(())
}

/// An enum, stored as `i32` (`map.next_value::<E>()? as i32`).
pub fn enumeration<'de, E: Deserialize<'de> + Into<i32>>(
    cursor: &mut Cursor<'de>,
    field: &mut i32,
) -> Result<(), Unsupported> {
    *field = E::deserialize(cursor)?.into();
    Ok(())
}

/// A number as `pbjson::private::NumberDeserialize` reads it: a JSON string parsed with
/// `FromStr`, or a JSON number through `T`'s own impl, which for the integer types
/// (serde's `visit_u64`, the only call a number of the subset makes) takes the value when
/// it fits: `TryFrom<u64>`.
pub fn number<T: FromStr + TryFrom<u64>>(
    cursor: &mut Cursor<'_>,
    field: &mut T,
) -> Result<(), Unsupported> {
    *field = match cursor.peek() {
        Some(b'"') => cursor.string()?.as_str().parse().map_err(|_| Unsupported)?,
        Some(b'0'..=b'9') => T::try_from(cursor.unsigned()?).map_err(|_| Unsupported)?,
        _ => return Err(Unsupported),
    };
    Ok(())
}

/// The items of an array read into `items` in order, reusing the ones it has; the rest
/// are dropped.
fn array<'de, T: Default>(
    cursor: &mut Cursor<'de>,
    items: &mut Vec<T>,
    mut read: impl FnMut(&mut Cursor<'de>, &mut T) -> Result<(), Unsupported>,
) -> Result<(), Unsupported> {
    cursor.open(b'[')?;
    let mut first = true;
    let mut count = 0;
    while cursor.next_item(&mut first, b']')? {
        if count == items.len() {
            items.push(T::default());
        }
        read(cursor, &mut items[count])?;
        count += 1;
    }
    cursor.close(b']')?;
    items.truncate(count);
    Ok(())
}

/// A field not given: its default, keeping what it allocated where it can.
pub trait Reset {
    /// Sets the default.
    fn reset(&mut self);
}

impl Reset for String {
    fn reset(&mut self) {
        self.clear();
    }
}

impl<T> Reset for Vec<T> {
    fn reset(&mut self) {
        self.clear();
    }
}

impl<T> Reset for Option<T> {
    fn reset(&mut self) {
        *self = None;
    }
}

macro_rules! reset_to_default {
    ($($type:ty)*) => {$(
        impl Reset for $type {
            fn reset(&mut self) {
                *self = Default::default();
            }
        }
    )*};
}

reset_to_default!(bool i32 u32 u64);
