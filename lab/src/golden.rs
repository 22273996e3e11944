//! Golden files: the one helper every golden (snapshot) test compares its output with, and
//! the one variable, [`UPDATE_ENV`] (`UPDATE_GOLDEN=1`), that rewrites them after an
//! intended change (then review the diff).

use std::path::Path;

/// Set (to anything) to write the actual output over the golden files instead of comparing.
pub const UPDATE_ENV: &str = "UPDATE_GOLDEN";

/// The golden text at `path` to compare `actual` with; `None` when [`UPDATE_ENV`] is set,
/// after writing `actual` there (for tests that compare in their own way, such as screens).
///
/// # Panics
///
/// When the golden file cannot be read (or, updating, written): the message names
/// [`UPDATE_ENV`].
pub fn expected(path: &Path, actual: &str) -> Option<String> {
    if std::env::var_os(UPDATE_ENV).is_some() {
        std::fs::write(path, actual)
            .unwrap_or_else(|e| panic!("cannot write golden {}: {e}", path.display()));
        return None;
    }
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "golden {}: {e} (run with {UPDATE_ENV}=1 to write it, then review it)",
            path.display()
        )
    });
    Some(text)
}

/// Asserts that `actual` equals the golden file at `path` (or rewrites it, see
/// [`expected`]); a difference prints both texts.
///
/// # Panics
///
/// When they differ, or the golden file cannot be read.
pub fn assert_golden(path: &Path, actual: &str) {
    let Some(want) = expected(path, actual) else {
        return;
    };
    assert!(
        want == actual,
        "output differs from golden {} ({UPDATE_ENV}=1 rewrites it)\n--- want\n{want}\n--- got\n{actual}",
        path.display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matching_golden_passes_and_a_different_one_fails() {
        // Updating would overwrite instead of compare.
        if std::env::var_os(UPDATE_ENV).is_some() {
            return;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("case.golden");
        std::fs::write(&path, "one\n").expect("write");
        assert_golden(&path, "one\n");
        let differs = std::panic::catch_unwind(|| assert_golden(&path, "two\n"));
        assert!(differs.is_err());
        let missing = std::panic::catch_unwind(|| expected(&dir.path().join("none"), ""));
        assert!(missing.is_err());
    }
}
