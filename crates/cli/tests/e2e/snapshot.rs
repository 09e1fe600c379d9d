//! Whole-output snapshots kept as files in `crates/cli/tests/e2e/snapshots/`.
//!
//! A snapshot is the exact expected output, reviewed like code. When a
//! change to the output is intended, regenerate the files with
//! `SNAPSHOTS=overwrite cargo test -p images-cli --test e2e` and review the
//! git diff; never edit a snapshot by hand to make a test pass.

use std::path::PathBuf;

/// Asserts that `actual` equals the snapshot file `name`, or rewrites the
/// file when `SNAPSHOTS=overwrite` is set.
#[track_caller]
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = snapshot_dir().join(name);
    if std::env::var("SNAPSHOTS").as_deref() == Ok("overwrite") {
        std::fs::create_dir_all(snapshot_dir()).expect("create the snapshot directory");
        std::fs::write(&path, actual).expect("write the snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read snapshot {} ({e}); create it with SNAPSHOTS=overwrite and review it\n--- actual\n{actual}",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "output differs from snapshot {}\n(if the change is intended: SNAPSHOTS=overwrite, then review the git diff)\n{}",
            path.display(),
            line_diff(&expected, actual)
        );
    }
}

/// `text` with every occurrence of each value replaced by its placeholder,
/// so addresses and paths that change per run do not reach a snapshot.
pub fn redact(text: &str, replacements: &[(&str, &str)]) -> String {
    replacements
        .iter()
        .fold(text.to_owned(), |text, (value, placeholder)| {
            text.replace(value, placeholder)
        })
}

fn snapshot_dir() -> PathBuf {
    // The e2e tests belong to crates/cli but live in the top-level tests/.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/snapshots")
}

/// Expected and actual side by side, line by line, marking lines that differ.
fn line_diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => out.push_str(&format!("  {x}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!("- {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!("+ {y}\n"));
                }
            }
        }
    }
    out
}
