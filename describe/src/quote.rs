//! Shell quoting: a flow-supplied string as one POSIX shell word, so a printed command
//! line can be pasted as is. Quoting is `shlex`'s; the string is sanitized first, so the
//! word never carries a terminal escape (or the NUL byte no shell word can hold).

use std::borrow::Cow;

use crate::sanitize::clean;

/// `s`, sanitized, as one shell word: unchanged when it needs no quotes
/// (`shop/db-0`), quoted otherwise (`'a b'`).
pub fn shell_word(s: &str) -> String {
    let visible = clean(s);
    // `clean` shows NUL as `^@`, and NUL is the only input `try_quote` refuses.
    match shlex::try_quote(&visible) {
        Ok(word) => word.into_owned(),
        Err(_) => Cow::into_owned(visible),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_names_are_quoted_for_the_shell() {
        for odd in ["a b'c", "x;rm -rf /", "$(id)", "", "tab\there", "nul\0byte"] {
            let word = shell_word(odd);
            assert_eq!(
                shlex::split(&word),
                Some(vec![clean(odd).into_owned()]),
                "{odd:?} as {word}"
            );
        }
        assert_eq!(shell_word("a b'c"), r#""a b'c""#);
        assert_eq!(shell_word("shop/db-0"), "shop/db-0");
        assert_eq!(shell_word("10.0.0.53"), "10.0.0.53");
    }
}
