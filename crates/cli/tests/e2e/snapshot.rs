//! Whole-output snapshots kept as files in `crates/cli/tests/e2e/snapshots/`,
//! compared by snapbox.
//!
//! A snapshot is the exact expected output, reviewed like code. When a
//! change to the output is intended, regenerate the files with
//! `SNAPSHOTS=overwrite cargo test -p images-cli --test e2e` and review the
//! git diff; never edit a snapshot by hand to make a test pass.

use std::path::PathBuf;

use snapbox::{assert::DEFAULT_ACTION_ENV, Assert, Data};

/// Asserts that `actual` equals the snapshot file `name` byte for byte
/// (no wildcards: what varies per run is redacted before, by [`redact`]),
/// or rewrites the file when `SNAPSHOTS=overwrite` is set.
#[track_caller]
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = snapshot_dir().join(name);
    let expected = Data::read_from(&path, None).raw();
    Assert::new()
        .action_env(DEFAULT_ACTION_ENV)
        .eq(actual.to_owned(), expected);
}

/// `text` with every occurrence of each value replaced by its placeholder,
/// so addresses, ports and paths that change per run do not reach a
/// snapshot.
pub fn redact(text: &str, replacements: &[(&str, &str)]) -> String {
    replacements
        .iter()
        .fold(text.to_owned(), |text, (value, placeholder)| {
            text.replace(value, placeholder)
        })
}

fn snapshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/snapshots")
}
