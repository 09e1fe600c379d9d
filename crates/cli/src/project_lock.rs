//! One `images` at a time edits a project: an exclusive advisory lock.
//!
//! `lock`, `add` and `remove` read images.toml and images.lock, work, and
//! write them back. Two of them at once would each write what they read
//! plus their own change, and the one that writes last silently drops the
//! other's. So each holds an exclusive `flock` on the project directory
//! (the one holding images.toml) for its whole read-modify-write, as cargo
//! does for its files; a second run waits, saying so on stderr. Locking the
//! directory rather than a file leaves nothing behind in the project, and
//! survives the renames that replace images.lock and images.toml. The lock
//! is advisory: it orders `images` runs, not editors.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use crate::exit::{Exit, Failure};
use crate::output::Printer;

/// How often a run waiting for the lock tries again.
const WAIT_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Held while a command edits the project; released when dropped (or when
/// the process ends, however it ends).
#[derive(Debug)]
pub struct ProjectLock {
    _dir: File,
}

impl ProjectLock {
    /// Locks the directory that holds `manifest_path`, waiting for another
    /// run that holds it. A filesystem without `flock` is not an error:
    /// the command then runs unlocked, as before.
    pub fn acquire(manifest_path: &Path, printer: Printer) -> Result<ProjectLock, Failure> {
        let dir = match manifest_path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let cannot = |e: std::io::Error| {
            // A directory that is not there is the user's path to fix.
            let exit = if e.kind() == std::io::ErrorKind::NotFound {
                Exit::BadInput
            } else {
                Exit::Unavailable
            };
            Failure::new(
                exit,
                format!("cannot lock `{}` for editing: {e}", dir.display()),
            )
        };
        let file = File::open(&dir).map_err(cannot)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                printer.status(&format!(
                    "Blocking waiting for file lock on `{}` (another `images` is editing it)",
                    dir.display()
                ));
                // Polled rather than a blocking `lock()`, so that Ctrl-C,
                // caught since the start, still ends the wait.
                loop {
                    crate::interrupt::check("nothing was changed")?;
                    match file.try_lock() {
                        Ok(()) => break,
                        Err(TryLockError::WouldBlock) => std::thread::sleep(WAIT_POLL),
                        Err(TryLockError::Error(e)) => return Err(cannot(e)),
                    }
                }
            }
            Err(TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {}
            Err(TryLockError::Error(e)) => return Err(cannot(e)),
        }
        Ok(ProjectLock { _dir: file })
    }
}
