//! The bytes of one JSON text, read left to right: whitespace, literals, strings (escapes
//! decoded as serde_json decodes them), non-negative integers, item separators, and whole
//! values skipped. Every method either consumes what it read or returns [`Unsupported`];
//! positions only move forward.

use super::escape;
use super::{MAX_DEPTH, Unsupported};

/// Bytes that end the plain part of a string: the quote, a backslash (an escape) and the
/// control characters JSON forbids in strings.
static STOPS: [bool; 256] = {
    let mut stops = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        stops[byte] = true;
        byte += 1;
    }
    stops[b'"' as usize] = true;
    stops[b'\\' as usize] = true;
    stops
};

/// How many bytes of `bytes` come before the first [`STOPS`] byte (all of them if none
/// does): eight at a time, then one by one.
#[inline(always)]
fn plain_len(bytes: &[u8]) -> usize {
    let mut chunks = bytes.chunks_exact(8);
    let mut len = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let stops = stop_bytes(word);
        if stops != 0 {
            return len + (stops.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    let rest = chunks.remainder();
    len + rest
        .iter()
        .position(|&byte| STOPS[usize::from(byte)])
        .unwrap_or(rest.len())
}

/// The high bit of each byte of `word` that is a quote, a backslash or below 0x20; the
/// lowest one set is exact (higher ones may be false alarms, from borrows).
fn stop_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    quote | backslash | control
}

/// The first eight bytes of `bytes`, little-endian, zero-padded: what a key is hashed
/// and first compared by.
pub const fn head(bytes: &[u8]) -> u64 {
    if let Some(first) = bytes.first_chunk::<8>() {
        return u64::from_le_bytes(*first);
    }
    let mut head = 0;
    let mut index = 0;
    while index < bytes.len() {
        head |= (bytes[index] as u64) << (8 * index);
        index += 1;
    }
    head
}

/// A string's text: a slice of the input when it has no escapes (serde_json's
/// `visit_borrowed_str`), else the decoded copy in the cursor's scratch (`visit_str`).
pub enum Text<'de, 's> {
    /// Straight from the input.
    Borrowed(&'de str),
    /// Decoded.
    Copied(&'s str),
}

impl Text<'_, '_> {
    /// The text, wherever it lives.
    pub fn as_str(&self) -> &str {
        match self {
            Text::Borrowed(text) | Text::Copied(text) => text,
        }
    }
}

/// A position in a JSON text and how deep in arrays and objects it is.
pub struct Cursor<'de> {
    text: &'de str,
    pos: usize,
    depth: u32,
    /// Decoded strings with escapes.
    scratch: String,
}

impl<'de> Cursor<'de> {
    /// A cursor at the start of `text`.
    pub fn new(text: &'de str) -> Self {
        Self {
            text,
            pos: 0,
            depth: 0,
            scratch: String::new(),
        }
    }

    /// The next byte after whitespace (JSON's four: space, tab, LF, CR), not consumed.
    pub fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&byte) = bytes.get(self.pos) {
            if !matches!(byte, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(byte);
            }
            self.pos += 1;
        }
        None
    }

    /// Consumes `byte`, after whitespace.
    pub fn eat(&mut self, byte: u8) -> Result<(), Unsupported> {
        if self.peek() != Some(byte) {
            return Err(Unsupported);
        }
        self.pos += 1;
        Ok(())
    }

    /// Consumes `word` (`null`, `true`, `false`), after whitespace.
    pub fn literal(&mut self, word: &[u8]) -> Result<(), Unsupported> {
        self.peek();
        if !self.text.as_bytes()[self.pos..].starts_with(word) {
            return Err(Unsupported);
        }
        self.pos += word.len();
        Ok(())
    }

    /// Consumes a string (after whitespace) and returns its text.
    pub fn string(&mut self) -> Result<Text<'de, '_>, Unsupported> {
        self.eat(b'"')?;
        self.string_body()
    }

    /// The rest of a string whose opening quote was read.
    fn string_body(&mut self) -> Result<Text<'de, '_>, Unsupported> {
        let run = self.plain_run();
        if self.text.as_bytes().get(self.pos) == Some(&b'"') {
            self.pos += 1;
            return Ok(Text::Borrowed(run));
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.push_str(run);
        let rest = self.escaped_rest(&mut scratch);
        self.scratch = scratch;
        rest?;
        Ok(Text::Copied(&self.scratch))
    }

    /// Consumes an object key (after whitespace): its text and its first eight bytes,
    /// zero-padded ([`head`]). A key of fewer than sixteen bytes without escapes, the
    /// common case, is found with two reads of eight bytes at most.
    pub fn key(&mut self) -> Result<(Text<'de, '_>, u64), Unsupported> {
        self.eat(b'"')?;
        if let Some((key, head)) = self.short_key() {
            return Ok((Text::Borrowed(key), head));
        }
        let key = self.string_body()?;
        let head = head(key.as_str().as_bytes());
        Ok((key, head))
    }

    /// After the opening quote: a key of fewer than sixteen bytes without escapes and
    /// its head, consumed; `None` (nothing consumed) otherwise.
    fn short_key(&mut self) -> Option<(&'de str, u64)> {
        let text = self.text;
        let start = self.pos;
        let bytes = text.as_bytes().get(start..)?;
        let first = u64::from_le_bytes(*bytes.first_chunk::<8>()?);
        let (len, head) = match stop_bytes(first) {
            0 => {
                let second = u64::from_le_bytes(*bytes.get(8..)?.first_chunk::<8>()?);
                let stops = stop_bytes(second);
                (8 + (stops.trailing_zeros() / 8) as usize, first)
            }
            stops => {
                let len = (stops.trailing_zeros() / 8) as usize;
                let head = if len == 0 {
                    0
                } else {
                    first & (u64::MAX >> (64 - 8 * len))
                };
                (len, head)
            }
        };
        if bytes.get(len) != Some(&b'"') {
            return None;
        }
        let key = text.get(start..start + len)?;
        self.pos = start + len + 1;
        Some((key, head))
    }

    /// Consumes a string (after whitespace) into `out`, replacing what it held.
    pub fn string_into(&mut self, out: &mut String) -> Result<(), Unsupported> {
        self.eat(b'"')?;
        out.clear();
        out.push_str(self.plain_run());
        if self.text.as_bytes().get(self.pos) == Some(&b'"') {
            self.pos += 1;
            return Ok(());
        }
        self.escaped_rest(out)
    }

    /// The bytes up to the next quote, backslash or control character (not consumed).
    #[inline(always)]
    fn plain_run(&mut self) -> &'de str {
        let text = self.text;
        let start = self.pos;
        let end = start + plain_len(text.as_bytes().get(start..).unwrap_or_default());
        self.pos = end;
        // Both ends are ASCII bytes (or the end), hence character boundaries.
        text.get(start..end).unwrap_or_default()
    }

    /// The rest of a string from an escape (or a stop byte) on, decoded into `out`,
    /// through the closing quote.
    fn escaped_rest(&mut self, out: &mut String) -> Result<(), Unsupported> {
        loop {
            match self.text.as_bytes().get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let used = escape::decode(&self.text.as_bytes()[self.pos..], out)?;
                    self.pos += used;
                }
                _ => return Err(Unsupported),
            }
            let run = self.plain_run();
            out.push_str(run);
        }
    }

    /// Consumes a non-negative integer that fits a `u64`, after whitespace. A sign, a
    /// fraction, an exponent, a leading zero or an overflow is [`Unsupported`].
    pub fn unsigned(&mut self) -> Result<u64, Unsupported> {
        self.peek();
        let bytes = self.text.as_bytes();
        let mut value: u64 = 0;
        let mut end = self.pos;
        match bytes.get(end) {
            Some(b'0') => end += 1,
            Some(b'1'..=b'9') => {
                while let Some(&digit @ b'0'..=b'9') = bytes.get(end) {
                    value = value
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(u64::from(digit - b'0')))
                        .ok_or(Unsupported)?;
                    end += 1;
                }
            }
            _ => return Err(Unsupported),
        }
        if matches!(bytes.get(end), Some(b'0'..=b'9' | b'.' | b'e' | b'E')) {
            return Err(Unsupported);
        }
        self.pos = end;
        Ok(value)
    }

    /// Whether another item of an array or object follows (the comma before it
    /// consumed), or the container ends at `close` (not consumed). `first` tells the
    /// first item, which has no comma. A missing or trailing comma is [`Unsupported`].
    pub fn next_item(&mut self, first: &mut bool, close: u8) -> Result<bool, Unsupported> {
        match self.peek() {
            Some(byte) if byte == close => Ok(false),
            None => Err(Unsupported),
            Some(_) if *first => {
                *first = false;
                Ok(true)
            }
            Some(b',') => {
                self.pos += 1;
                match self.peek() {
                    Some(byte) if byte != close => Ok(true),
                    _ => Err(Unsupported),
                }
            }
            Some(_) => Err(Unsupported),
        }
    }

    /// Consumes one whole value of the subset without keeping it.
    pub fn skip_value(&mut self) -> Result<(), Unsupported> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'0'..=b'9') => self.unsigned().map(drop),
            Some(b'n') => self.literal(b"null"),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'[') => self.skip_array(),
            Some(b'{') => self.skip_object(),
            _ => Err(Unsupported),
        }
    }

    fn skip_array(&mut self) -> Result<(), Unsupported> {
        self.open(b'[')?;
        let mut first = true;
        while self.next_item(&mut first, b']')? {
            self.skip_value()?;
        }
        self.close(b']')
    }

    fn skip_object(&mut self) -> Result<(), Unsupported> {
        self.open(b'{')?;
        let mut first = true;
        while self.next_item(&mut first, b'}')? {
            self.string()?;
            self.eat(b':')?;
            self.skip_value()?;
        }
        self.close(b'}')
    }

    /// Consumes `[` or `{`, one level deeper.
    pub fn open(&mut self, byte: u8) -> Result<(), Unsupported> {
        if self.depth >= MAX_DEPTH {
            return Err(Unsupported);
        }
        self.eat(byte)?;
        self.depth += 1;
        Ok(())
    }

    /// Consumes `]` or `}`, one level up.
    pub fn close(&mut self, byte: u8) -> Result<(), Unsupported> {
        self.eat(byte)?;
        self.depth -= 1;
        Ok(())
    }

    /// Whether only whitespace is left.
    pub fn end(&mut self) -> Result<(), Unsupported> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(Unsupported),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys of every length up to past the two-word fast path, plain and with an escape,
    /// at the end of the text or not: the key, its head, and the cursor after it.
    #[test]
    fn keys_of_every_length() {
        for len in 0..24 {
            let key: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            for tail in ["", ":1}"] {
                let text = format!("\"{key}\"{tail}");
                let mut cursor = Cursor::new(&text);
                let (read, read_head) = cursor
                    .key()
                    .map(|(k, h)| (k.as_str().to_string(), h))
                    .unwrap();
                assert_eq!(
                    (read.as_str(), read_head),
                    (key.as_str(), head(key.as_bytes()))
                );
                assert_eq!(cursor.pos, key.len() + 2, "{text}");
                let escaped = format!("\"\\u0041{key}\"{tail}");
                let mut cursor = Cursor::new(&escaped);
                let (read, _) = cursor
                    .key()
                    .map(|(k, h)| (k.as_str().to_string(), h))
                    .unwrap();
                assert_eq!(read, format!("A{key}"));
            }
        }
    }

    /// Eight at a time finds the same stop as one by one, wherever it is and whatever
    /// surrounds it.
    #[test]
    fn plain_len_stops_at_the_first_stop_byte() {
        let one_by_one = |bytes: &[u8]| {
            bytes
                .iter()
                .position(|&b| STOPS[usize::from(b)])
                .unwrap_or(bytes.len())
        };
        for len in 0..20 {
            for at in 0..=len {
                for stop in 0..=u8::MAX {
                    let mut bytes = vec![b'a'; len];
                    if at < len {
                        bytes[at] = stop;
                    }
                    // Bytes after the stop that would fool a borrowing test.
                    bytes.extend_from_slice(&[0x00, 0x21, 0x5b, 0xff, b'"']);
                    assert_eq!(plain_len(&bytes), one_by_one(&bytes), "{bytes:?}");
                }
            }
        }
        assert_eq!(
            plain_len("ünïcode ✓ 名前".as_bytes()),
            "ünïcode ✓ 名前".len()
        );
    }
}
