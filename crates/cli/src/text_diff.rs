//! Unified diffs of a file's text before and after a change, as `git
//! diff` prints them, so a CI log shows the fix (`images pin --diff`,
//! `images lock --locked`).

use std::path::Path;

use similar::TextDiff;

/// The unified diff turning `old` into `new`, with three lines of context
/// and `a/PATH`, `b/PATH` headers for a relative path (`git apply` takes it
/// in the directory the path is relative to); empty when nothing differs.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let (from, to) = if Path::new(path).is_absolute() {
        (path.to_owned(), path.to_owned())
    } else {
        (format!("a/{path}"), format!("b/{path}"))
    };
    let mut out = TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&from, &to)
        .to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_is_shown_with_its_context() {
        let diff = unified(
            "Dockerfile",
            "FROM a:1\nRUN x\n",
            "FROM a:1@sha256:00\nRUN x\n",
        );
        assert_eq!(
            diff,
            "--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1,2 +1,2 @@\n-FROM a:1\n+FROM a:1@sha256:00\n RUN x\n"
        );
    }

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("x", "same\n", "same\n"), "");
    }
}
