//! `images add NAME REF`: declare an image in images.toml and lock it.
//!
//! Like `cargo add`, the manifest edit and the lock are one step: when
//! locking fails (the registry is down, the tag does not exist, an answer
//! was tampered with) images.toml is put back as it was, so the pair never
//! disagrees. Unlike `cargo add` and `uv add`, which need `init` first,
//! `add` creates images.toml when there is none (at `--manifest PATH`, or
//! in the current directory when none is found walking up): an empty
//! `[images]` table is all an `init` would write.

use std::path::{Path, PathBuf};

use images_lockfile::{
    find_manifest, write_if_changed, Manifest, Platform, Reference, MANIFEST_FILE,
};
use serde_json::json;

use crate::args::{AddArgs, Global, LockArgs};
use crate::exit::{Exit, Failure};
use crate::manifest_edit::{add_entry, NewEntry};
use crate::output::Printer;
use crate::project::Project;

pub fn run(global: &Global, args: &AddArgs, printer: Printer) -> Result<Exit, Failure> {
    validate_name(&args.name)?;
    let reference_text = args.reference.trim();
    let reference = Reference::parse(reference_text).map_err(|e| {
        Failure::bad_input(e.to_string())
            .with_hint("write it the way `docker pull` takes it, e.g. `nginx:1.27` or `ghcr.io/acme/api:v1.2.11`")
    })?;
    for platform in &args.platforms {
        Platform::parse(platform).map_err(|e| {
            Failure::bad_input(format!("`--platform {platform}`: {e}"))
                .with_hint("platforms are `os/arch` or `os/arch/variant`, e.g. `linux/amd64`")
        })?;
    }

    let path = manifest_path(global)?;
    let original = read_existing(&path)?;
    let text = original.clone().unwrap_or_default();
    // The file must be valid before it is edited: an error now points at
    // the user's own mistake, not at the entry being added.
    let manifest = Manifest::parse(&text, &path)?;
    if let Some(existing) = manifest.images.get(&args.name) {
        return Err(Failure::bad_input(format!(
            "image `{}` is already declared in `{}` (line {}): `{}`",
            args.name,
            path.display(),
            existing.line,
            existing.reference.familiar()
        ))
        .with_hint(format!(
            "pick another name, or `images remove {}` first",
            args.name
        )));
    }
    let edited = add_entry(
        &text,
        &NewEntry {
            name: &args.name,
            reference: reference_text,
            mutable: args.mutable,
            platforms: &args.platforms,
        },
    )
    .map_err(|e| Failure::bad_input(format!("cannot edit `{}`: {e}", path.display())))?;
    write(&path, edited.as_bytes())?;

    let locked = Manifest::load(&path)
        .map_err(Failure::from)
        .and_then(|manifest| {
            let project = Project {
                manifest,
                lock_path: Project::lock_path_beside(&path),
            };
            let lock_args = LockArgs {
                update: None,
                locked: false,
            };
            super::lock::lock_project(global, &project, &lock_args, printer)
        });
    let outcome = match locked {
        Ok(outcome) => outcome,
        Err(failure) => {
            rollback(&path, original.as_deref());
            return Err(failure.with_cause(format!(
                "`{}` was left as it was; `{}` was not added",
                path.display(),
                args.name
            )));
        }
    };
    if original.is_none() {
        printer.status(&format!("Created {}", path.display()));
    }
    printer.status(&format!(
        "Added {} ({}) to {MANIFEST_FILE}",
        args.name,
        reference.familiar()
    ));
    let entry = outcome.lock.images.get(&args.name);
    if printer.is_json() {
        printer.json(&json!({
            "version": 1,
            "added": args.name,
            "reference": reference.to_string(),
            "digest": entry.map(|e| e.digest.to_string()),
            "lock": outcome.to_json(),
        }));
    } else {
        if let Some(entry) = entry {
            printer.status(&format!("Locked {} at {}", args.name, entry.digest));
        }
        printer.status(&outcome.summary());
    }
    Ok(Exit::Ok)
}

/// Names become TOML keys and appear in every message; any non-empty name
/// without control characters can be written (quoted when it is not a bare
/// key), but one that would need escapes is surely a mistake.
fn validate_name(name: &str) -> Result<(), Failure> {
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        return Err(Failure::bad_input(format!(
            "invalid image name `{}`: names must be non-empty and printable",
            name.escape_debug()
        ))
        .with_hint("use a short key such as `web` or `api-v2`"));
    }
    Ok(())
}

/// `--manifest PATH` (created when missing), the images.toml found walking
/// up, or a new one in the current directory.
fn manifest_path(global: &Global) -> Result<PathBuf, Failure> {
    if let Some(path) = &global.manifest {
        return Ok(path.clone());
    }
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::bad_input(format!("cannot read the current directory: {e}")))?;
    Ok(find_manifest(&cwd).unwrap_or_else(|| cwd.join(MANIFEST_FILE)))
}

/// The manifest's text, or `None` when it does not exist yet.
fn read_existing(path: &Path) -> Result<Option<String>, Failure> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::bad_input(format!(
            "cannot read `{}`: {e}",
            path.display()
        ))),
    }
}

pub(super) fn write(path: &Path, contents: &[u8]) -> Result<(), Failure> {
    write_if_changed(path, contents)
        .map(|_| ())
        .map_err(|e| Failure::cannot_write(path, &e))
}

/// Puts images.toml back (or removes the one `add` created). Best effort:
/// the failure being reported matters more than a second one here.
fn rollback(path: &Path, original: Option<&str>) {
    let _ = match original {
        Some(text) => write_if_changed(path, text.as_bytes()).map(|_| ()),
        None => std::fs::remove_file(path),
    };
}
