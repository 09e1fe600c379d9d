//! images.toml on disk for the commands that edit it (`add`, `remove`,
//! `init`): written atomically and only when its bytes change, and put
//! back when the lock that goes with the edit fails.

use std::path::Path;

use images_lockfile::write_if_changed;

use crate::exit::Failure;

/// Writes images.toml (atomically; an unchanged file keeps its mtime).
pub fn write(path: &Path, contents: &[u8]) -> Result<(), Failure> {
    write_if_changed(path, contents)
        .map(|_| ())
        .map_err(|e| Failure::cannot_write(path, &e))
}

/// Puts images.toml back (or removes the one `add` created), but only if
/// it still holds exactly what `add` wrote: an edit made meanwhile (by an
/// editor; other `images` runs wait for the project lock) is never undone.
/// Returns whether the file is as it was. Best effort: the failure being
/// reported matters more than a second one here.
pub fn rollback(path: &Path, original: Option<&str>, written: &str) -> bool {
    match std::fs::read(path) {
        Ok(now) if now == written.as_bytes() => {}
        _ => return false,
    }
    match original {
        Some(text) => write_if_changed(path, text.as_bytes()).is_ok(),
        None => std::fs::remove_file(path).is_ok(),
    }
}
