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
    add_entry, find_manifest, Manifest, NewEntry, ParsedReference, Platform, Reference,
    VersionSpec, MANIFEST_FILE,
};
use serde::Serialize;

use super::lock::{LockOutcome, LockReport};
use crate::args::{AddArgs, Global, LockArgs, ReportFormat};
use crate::exit::{Exit, Failure};
use crate::manifest_file::{rollback, write};
use crate::output::Printer;
use crate::project::Project;
use crate::project_lock::ProjectLock;

pub fn run(global: &Global, args: &AddArgs, printer: Printer) -> Result<Exit, Failure> {
    validate_name(&args.name)?;
    let reference_text = args.reference.trim();
    let reference = Reference::parse(reference_text).map_err(|e| {
        Failure::bad_input(e.to_string())
            .with_hint("write it the way `docker pull` takes it, e.g. `nginx:1.27` or `ghcr.io/acme/api:v1.2.11`")
    })?;
    if let Some(version) = &args.version {
        VersionSpec::new(version, args.tags.as_deref()).map_err(|e| {
            Failure::bad_input(e.to_string())
                .with_hint("requirements are Cargo's: `^1.27`, `~1.27`, `1.27.*`, `>=1.26, <1.28`")
        })?;
        let written = ParsedReference::parse(reference_text)
            .is_ok_and(|p| p.tag.is_some() || p.digest.is_some());
        if written {
            return Err(Failure::bad_input(format!(
                "`{reference_text}` names a tag or digest, but `--version` chooses the tag"
            ))
            .with_hint(format!(
                "give the repository alone: `images add {} {} --version '{version}'`",
                args.name,
                reference.familiar_name()
            )));
        }
    }
    for platform in &args.platforms {
        Platform::parse(platform).map_err(|e| {
            Failure::bad_input(format!("`--platform {platform}`: {e}"))
                .with_hint("platforms are `os/arch` or `os/arch/variant`, e.g. `linux/amd64`")
        })?;
    }

    let path = manifest_path(global)?;
    // Held until `add` has locked (or rolled back): a second `images`
    // waits instead of editing the file this one is editing.
    let _guard = ProjectLock::acquire(&path, printer)?;
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
            version: args.version.as_deref(),
            tags: args.tags.as_deref(),
        },
    )
    .map_err(|e| Failure::bad_input(format!("cannot edit `{}`: {e}", path.display())))?;
    write(&path, edited.as_bytes())?;

    let locked = lock_written(global, &path, &edited, printer);
    let outcome = match locked {
        Ok(outcome) => outcome,
        Err(failure) => {
            let undo = if rollback(&path, original.as_deref(), &edited) {
                format!("`{}` was left as it was", path.display())
            } else {
                format!(
                    "`{}` was changed by someone else meanwhile, so it was not put back; remove `{}` from it by hand",
                    path.display(),
                    args.name
                )
            };
            return Err(failure.with_cause(format!("{undo}; `{}` was not added", args.name)));
        }
    };
    if original.is_none() {
        printer.status(&format!("Created {}", path.display()));
    }
    let entry = outcome.lock.images.get(&args.name);
    let shown = match (&args.version, entry) {
        (Some(_), Some(entry)) => entry.reference.familiar(),
        _ => reference.familiar(),
    };
    printer.status(&format!("Added {} ({shown}) to {MANIFEST_FILE}", args.name));
    if printer.is_json() {
        printer.json(&AddReport {
            version: 1,
            added: &args.name,
            reference: entry.map_or_else(|| reference.to_string(), |e| e.reference.to_string()),
            digest: entry.map(|e| e.digest.to_string()),
            lock: outcome.report(),
        });
    } else {
        if let Some(entry) = entry {
            printer.status(&format!("Locked {} at {}", args.name, entry.digest));
        }
        printer.status(&outcome.summary());
    }
    Ok(Exit::Ok)
}

/// The `images add --format json` document (docs/json.md).
#[derive(Serialize)]
struct AddReport<'a> {
    version: u32,
    added: &'a str,
    /// The entry's reference, canonical.
    reference: String,
    /// The locked digest (`None` only if the entry did not lock).
    digest: Option<String>,
    lock: LockReport<'a>,
}

/// Locks `text`, the images.toml just written at `path`, as `images lock`
/// would; the caller puts images.toml back when this fails.
///
/// It locks the text it wrote, not the file read back: an editor saving
/// the file at that moment (truncate, then write) could otherwise hand
/// it half a file, or none, to lock.
pub(super) fn lock_written(
    global: &Global,
    path: &Path,
    text: &str,
    printer: Printer,
) -> Result<LockOutcome, Failure> {
    let manifest = Manifest::parse(text, path)?;
    let project = Project {
        manifest,
        lock_path: Project::lock_path_beside(path),
    };
    let lock_args = LockArgs {
        update: None,
        locked: false,
        // Unused: the caller prints the report.
        format: ReportFormat::Text,
    };
    super::lock::lock_project(global, &project, &lock_args, printer)
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
    let cwd = crate::paths::current_dir()?;
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
