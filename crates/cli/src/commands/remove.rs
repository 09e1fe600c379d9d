//! `images remove NAME`: drop an image from images.toml and images.lock.
//! Offline: nothing needs resolving to forget an entry.

use images_lockfile::{LOCK_FILE, MANIFEST_FILE};
use serde::Serialize;

use crate::args::{Global, RemoveArgs};
use crate::exit::{Exit, Failure};
use crate::output::Printer;
use crate::project::Project;
use images_lockfile::remove_entry;

pub fn run(global: &Global, args: &RemoveArgs, printer: Printer) -> Result<Exit, Failure> {
    let (project, _guard) = Project::load_for_edit(global, printer)?;
    let path = project.manifest.path.clone();
    if !project.manifest.images.contains_key(&args.name) {
        let declared: Vec<&str> = project.manifest.images.keys().map(String::as_str).collect();
        let hint = if declared.is_empty() {
            format!("`{}` declares no images", path.display())
        } else {
            format!("declared images: {}", declared.join(", "))
        };
        return Err(Failure::bad_input(format!(
            "no image named `{}` in `{}`",
            args.name,
            path.display()
        ))
        .with_hint(hint));
    }
    // Read the lock before touching anything: a broken lock stops the
    // command with images.toml unchanged.
    let lock = project.load_lock()?;

    let original = std::fs::read_to_string(&path)
        .map_err(|e| Failure::bad_input(format!("cannot read `{}`: {e}", path.display())))?;
    let edited = remove_entry(&original, &args.name)
        .map_err(|e| Failure::bad_input(format!("cannot edit `{}`: {e}", path.display())))?
        .ok_or_else(|| {
            // The parser saw the entry but the editor did not: a form
            // (such as a dotted key at the top level) it does not edit.
            Failure::bad_input(format!(
                "cannot remove `{}` from `{}`: it is not written inside `[images]`",
                args.name,
                path.display()
            ))
            .with_hint("remove the entry by hand, then run `images lock`")
        })?;
    crate::manifest_file::write(&path, edited.as_bytes())?;

    let mut lock_written = false;
    if let Some(mut lock) = lock {
        if lock.images.remove(&args.name).is_some() {
            lock_written = lock.write_if_changed(&project.lock_path).map_err(|e| {
                // Keep the pair consistent: undo the manifest edit.
                let _ = crate::manifest_file::write(&path, original.as_bytes());
                Failure::cannot_write(&project.lock_path, &e)
                    .with_cause(format!("`{}` was left as it was", path.display()))
            })?;
        }
    }

    if printer.is_json() {
        printer.json(&RemoveReport {
            version: 1,
            removed: &args.name,
            lock_written,
        });
    } else if lock_written {
        printer.status(&format!(
            "Removed {} from {MANIFEST_FILE} and {LOCK_FILE}",
            args.name
        ));
    } else {
        printer.status(&format!("Removed {} from {MANIFEST_FILE}", args.name));
    }
    Ok(Exit::Ok)
}

/// The `images remove --format json` document (docs/json.md).
#[derive(Serialize)]
struct RemoveReport<'a> {
    version: u32,
    removed: &'a str,
    /// Whether images.lock was rewritten without the entry.
    lock_written: bool,
}
