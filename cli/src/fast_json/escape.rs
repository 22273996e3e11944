//! One escape sequence of a JSON string, decoded as serde_json decodes it for a `str`:
//! the eight one-letter escapes, `\uXXXX` outside the surrogates, and a high surrogate
//! followed by `\u` and a low one. A lone or misplaced surrogate, a bad hex digit or an
//! unknown letter is [`Unsupported`] (serde_json refuses them).

use super::Unsupported;

/// Decodes the escape whose backslash was just read (`bytes` start after it) onto `out`;
/// returns how many bytes it took.
pub fn decode(bytes: &[u8], out: &mut String) -> Result<usize, Unsupported> {
    let simple = match bytes.first() {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\x08',
        Some(b'f') => '\x0c',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => return unicode(bytes, out),
        _ => return Err(Unsupported),
    };
    out.push(simple);
    Ok(1)
}

/// `uXXXX`, or `uXXXX\uXXXX` for a surrogate pair.
fn unicode(bytes: &[u8], out: &mut String) -> Result<usize, Unsupported> {
    let high = hex4(bytes.get(1..5))?;
    let code = match high {
        0xD800..=0xDBFF => {
            if bytes.get(5..7) != Some(b"\\u") {
                return Err(Unsupported);
            }
            let low = hex4(bytes.get(7..11))?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return Err(Unsupported);
            }
            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
            out.push(char::from_u32(code).ok_or(Unsupported)?);
            return Ok(11);
        }
        0xDC00..=0xDFFF => return Err(Unsupported),
        code => code,
    };
    out.push(char::from_u32(code).ok_or(Unsupported)?);
    Ok(5)
}

/// Four hex digits, either case.
fn hex4(digits: Option<&[u8]>) -> Result<u32, Unsupported> {
    let digits = digits.ok_or(Unsupported)?;
    digits.iter().try_fold(0, |value, &digit| {
        let nibble = char::from(digit).to_digit(16).ok_or(Unsupported)?;
        Ok(value << 4 | nibble)
    })
}
