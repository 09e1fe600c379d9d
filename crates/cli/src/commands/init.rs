//! `images init`: adopt `images` in a repository that has no images.toml
//! yet. The image references in the files that deploy images (what
//! `images pin --discover` finds) become images.toml's entries, which are
//! locked at once; then it says what comes next.
//!
//! Like `images add`, the manifest and its lock are one step: when locking
//! fails (a registry down, a tag that does not exist) the images.toml it
//! wrote is removed again, so a failed init leaves the repository as it
//! was. Like `cargo init` and `uv init`, a repository with nothing to
//! declare still gets an (empty) images.toml, and a second `init` refuses.

use std::path::{Path, PathBuf};

use images_lockfile::{Manifest, LOCK_FILE, MANIFEST_FILE};
use serde::Serialize;

use super::lock::LockReport;
use crate::args::{Global, InitArgs};
use crate::exit::{Exit, Failure};
use crate::output::Printer;
use crate::pin::discover::toml_line;
use crate::project::Project;
use crate::project_lock::ProjectLock;

pub fn run(global: &Global, args: &InitArgs, printer: Printer) -> Result<Exit, Failure> {
    let cwd = crate::paths::current_dir()?;
    let path = global
        .manifest
        .clone()
        .unwrap_or_else(|| cwd.join(MANIFEST_FILE));
    let root = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| cwd.clone(), Path::to_path_buf);
    // Held until the lock is written (or images.toml removed again): a
    // second `images` waits instead of reading a half-made project.
    let _guard = ProjectLock::acquire(&path, printer)?;
    refuse_existing(&path)?;

    let (report, found) = super::pin::undeclared_in(&args.paths, &root, global.verbose > 0)?;
    if !printer.is_json() {
        report.print_findings(printer);
    }
    let exit = report.exit_for_problems();
    if exit != Exit::Ok {
        return Err(Failure::new(
            exit,
            format!("some files could not be read, so `{MANIFEST_FILE}` was not written"),
        )
        .with_hint("fix them, or name the files and directories to read: `images init PATH…`"));
    }

    let mut text = String::from(
        "# The images this repository deploys, each pinned to a digest in images.lock.\n\
         # Written by `images init`; edit it freely, then run `images lock`.\n\n[images]\n",
    );
    for entry in &found {
        let places: Vec<String> = entry.at.iter().map(|(f, l)| format!("{f}:{l}")).collect();
        text.push_str(&format!("# found in {}\n", places.join(", ")));
        text.push_str(&toml_line(&entry.name, &entry.image));
        text.push('\n');
    }
    // What the files hold must make a valid images.toml before anything
    // is written: an odd reference is reported, not saved.
    Manifest::parse(&text, &path)?;
    crate::manifest_file::write(&path, text.as_bytes())?;

    let locked = super::add::lock_written(global, &path, &text, printer);
    let outcome = match locked {
        Ok(outcome) => outcome,
        Err(failure) => {
            let undo = if crate::manifest_file::rollback(&path, None, &text) {
                format!("`{}` was removed again", path.display())
            } else {
                format!(
                    "`{}` was changed by someone else meanwhile, so it was kept",
                    path.display()
                )
            };
            return Err(failure.with_cause(format!("{undo}; nothing was initialized")));
        }
    };

    if printer.is_json() {
        let images = found
            .iter()
            .map(|entry| InitImage {
                name: &entry.name,
                image: &entry.image,
                digest: outcome
                    .lock
                    .images
                    .get(&entry.name)
                    .map(|l| l.digest.to_string()),
                locations: entry
                    .at
                    .iter()
                    .map(|(file, line)| Location { file, line: *line })
                    .collect(),
            })
            .collect();
        printer.json(&InitReport {
            version: 1,
            manifest: path.display().to_string(),
            images,
            lock: outcome.report(),
        });
        return Ok(Exit::Ok);
    }
    if found.is_empty() {
        printer.status(&format!(
            "No image references found in the files that deploy images under `{}`; created an empty {MANIFEST_FILE}",
            root.display()
        ));
        printer.status("Next: `images add NAME REF` declares an image and locks it");
        return Ok(Exit::Ok);
    }
    printer.status(&format!(
        "Created {MANIFEST_FILE} with {} image(s) and locked them in {LOCK_FILE}",
        found.len()
    ));
    printer.status(
        "Next:\n  images pin      write the locked digests into the files that name the images\n  images verify   in CI: check that every tag still names its locked digest",
    );
    Ok(Exit::Ok)
}

/// A second `init` must not overwrite a project: with images.toml there,
/// `images add` is the way to declare more; a lock left without its
/// images.toml is not thrown away either.
fn refuse_existing(path: &Path) -> Result<(), Failure> {
    if path.exists() {
        return Err(Failure::bad_input(format!(
            "`{}` already exists; `images init` only starts a new one",
            path.display()
        ))
        .with_hint("declare more images with `images add NAME REF`; `images pin --discover` lists the ones it lacks"));
    }
    let lock: PathBuf = Project::lock_path_beside(path);
    if lock.exists() {
        return Err(Failure::bad_input(format!(
            "`{}` exists without an {MANIFEST_FILE} beside it",
            lock.display()
        ))
        .with_hint(format!(
            "restore {MANIFEST_FILE} from version control, or remove {LOCK_FILE} and run `images init` again"
        )));
    }
    Ok(())
}

/// The `images init --format json` document (docs/json.md).
#[derive(Serialize)]
struct InitReport<'a> {
    version: u32,
    /// The images.toml written.
    manifest: String,
    images: Vec<InitImage<'a>>,
    lock: LockReport<'a>,
}

/// One entry `init` declared.
#[derive(Serialize)]
struct InitImage<'a> {
    name: &'a str,
    image: &'a str,
    digest: Option<String>,
    /// Where the image was found.
    locations: Vec<Location<'a>>,
}

/// A file and 1-based line.
#[derive(Serialize)]
struct Location<'a> {
    file: &'a str,
    line: usize,
}
