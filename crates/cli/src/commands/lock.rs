//! `images lock`: resolve new and changed entries and write images.lock.

use std::collections::BTreeSet;

use images_lockfile::{
    status, EntryStatus, ImageSpec, LockedImage, Lockfile, Reference, LOCK_FILE,
};
use images_resolver::{Resolved, Resolver};
use serde_json::json;

use crate::args::{Global, LockArgs};
use crate::exit::{exit_for, Exit, Failure};
use crate::output::Printer;
use crate::progress::Progress;
use crate::project::Project;

pub fn run(global: &Global, args: &LockArgs, printer: Printer) -> Result<Exit, Failure> {
    let project = Project::load(global)?;
    let outcome = lock_project(global, &project, args, printer)?;
    if printer.is_json() {
        printer.json(&outcome.to_json());
    } else {
        printer.status(&outcome.summary());
    }
    Ok(Exit::Ok)
}

/// What one locking pass did; `images lock` and `images add` report it.
pub struct LockOutcome {
    /// Whether images.lock was written (false when it was already up to date).
    pub wrote: bool,
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
    /// The lock as it is now.
    pub lock: Lockfile,
}

impl LockOutcome {
    /// The `images lock --format json` document.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "version": 1,
            "written": self.wrote,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "images": self.lock.images.len(),
        })
    }

    /// The one-line summary for people.
    pub fn summary(&self) -> String {
        if self.wrote {
            format!(
                "Locked {} image(s) in {LOCK_FILE}: {} added, {} updated, {} removed",
                self.lock.images.len(),
                self.added.len(),
                self.updated.len(),
                self.removed.len()
            )
        } else {
            format!(
                "{LOCK_FILE} is up to date ({} image(s))",
                self.lock.images.len()
            )
        }
    }
}

/// Brings `project`'s lock up to date with its images.toml and writes it;
/// the whole of `images lock`, minus the report. Nothing is written when
/// any image fails to resolve.
pub fn lock_project(
    global: &Global,
    project: &Project,
    args: &LockArgs,
    printer: Printer,
) -> Result<LockOutcome, Failure> {
    let old = project.load_lock()?.unwrap_or_default();
    let manifest = &project.manifest;

    let forced = forced_updates(args, manifest.images.keys())?;
    let mut plan = Plan::default();
    let mut new = Lockfile::default();
    for spec in manifest.images.values() {
        let locked = old.images.get(&spec.name);
        match (status(spec, &old), locked) {
            (EntryStatus::Locked, Some(locked)) if !forced.contains(&spec.name) => {
                new.images.insert(spec.name.clone(), locked.clone());
            }
            // `--update` of an entry that is up to date: asked by HEAD, and
            // fetched only if the tag moved.
            (EntryStatus::Locked, Some(locked)) => {
                plan.resolve
                    .push((spec, spec.reference.clone(), Some(locked.clone())));
            }
            // Only the options changed: the pin stays. A new `mutable` flag
            // needs no registry at all; new `platforms` are read from the
            // locked digest, not the tag, so the tag cannot move under it.
            (EntryStatus::Stale, Some(locked))
                if locked.reference == spec.reference && !forced.contains(&spec.name) =>
            {
                if locked.platforms == spec.platforms {
                    let mut kept = locked.clone();
                    kept.mutable = spec.mutable;
                    new.images.insert(spec.name.clone(), kept);
                } else {
                    let pinned = spec.reference.with_digest(locked.digest.clone());
                    plan.resolve.push((spec, pinned, None));
                }
            }
            (state, _) => {
                if state == EntryStatus::Unlocked {
                    plan.added.push(spec.name.clone());
                }
                plan.resolve.push((spec, spec.reference.clone(), None));
            }
        }
    }
    plan.removed = old
        .images
        .keys()
        .filter(|name| !manifest.images.contains_key(*name))
        .cloned()
        .collect();

    // Without --update the outcome of --locked is known offline.
    if args.locked && args.update.is_none() && (new != old || !plan.resolve.is_empty()) {
        return Err(out_of_date(&plan, &old, &new));
    }

    if !plan.resolve.is_empty() {
        let resolver = Resolver::new(project.resolver_config(global)?)
            .map_err(|e| Failure::new(exit_for(&e), e.to_string()))?;
        let requests: Vec<_> = plan
            .resolve
            .iter()
            .map(|(spec, reference, locked)| {
                (
                    reference.clone(),
                    spec.platforms.clone(),
                    locked.as_ref().map(|l| l.digest.clone()),
                )
            })
            .collect();
        printer.status(&format!("Resolving {} image(s)", requests.len()));
        let progress = Progress::new(requests.len(), "Resolving", printer.quiet);
        let results = crate::interrupt::block_on(
            &super::runtime()?,
            resolver.refresh_many_with_progress(&requests, &|| progress.tick()),
            &format!("{LOCK_FILE} was not changed"),
        );
        progress.finish();
        let results = results?;
        tracing::debug!(
            "{} manifest GET(s) for {} image(s)",
            resolver.manifest_gets(),
            requests.len()
        );
        let mut failures = Vec::new();
        for ((spec, _, locked), result) in plan.resolve.iter().zip(results) {
            match (result, locked) {
                (Ok(Some(resolved)), _) => {
                    new.images
                        .insert(spec.name.clone(), locked_entry(spec, resolved));
                }
                // The tag still names the locked digest.
                (Ok(None), Some(locked)) => {
                    new.images.insert(spec.name.clone(), locked.clone());
                }
                (Ok(None), None) => failures.push((
                    spec.name.clone(),
                    images_resolver::ResolveError::Registry {
                        registry: spec.reference.domain().to_string(),
                        status: None,
                        message: "internal error: nothing resolved".into(),
                        retry_after: None,
                    },
                )),
                (Err(e), _) => failures.push((spec.name.clone(), e)),
            }
        }
        if !failures.is_empty() {
            return Err(resolve_failure(failures));
        }
    }

    let changed = new != old;
    // Entries that were locked before and are different now.
    let updated: Vec<String> = new
        .images
        .iter()
        .filter(|(name, entry)| old.images.get(*name).is_some_and(|o| o != *entry))
        .map(|(name, _)| name.clone())
        .collect();
    if args.locked && changed {
        return Err(out_of_date(&plan, &old, &new));
    }
    let wrote = new.write_atomic(&project.lock_path).map_err(|e| {
        Failure::new(
            Exit::BadInput,
            format!("cannot write `{}`: {e}", project.lock_path.display()),
        )
    })?;

    Ok(LockOutcome {
        wrote,
        added: plan.added,
        updated,
        removed: plan.removed,
        lock: new,
    })
}

#[derive(Default)]
struct Plan<'a> {
    /// Entries to resolve, with the reference to ask for (the tag, or the
    /// locked digest when only the platforms changed) and, for `--update`
    /// of an up-to-date entry, its lock entry to keep if the tag has not
    /// moved.
    resolve: Vec<(&'a ImageSpec, Reference, Option<LockedImage>)>,
    added: Vec<String>,
    removed: Vec<String>,
}

/// Names given to `--update`; all of them for a bare `--update`.
fn forced_updates<'a>(
    args: &LockArgs,
    declared: impl Iterator<Item = &'a String>,
) -> Result<BTreeSet<String>, Failure> {
    let declared: BTreeSet<String> = declared.cloned().collect();
    match &args.update {
        None => Ok(BTreeSet::new()),
        Some(names) if names.is_empty() => Ok(declared),
        Some(names) => {
            for name in names {
                if !declared.contains(name) {
                    return Err(Failure::bad_input(format!(
                        "`--update {name}`: no image named `{name}` in images.toml"
                    ))
                    .with_hint(format!("declared images: {}", join(&declared))));
                }
            }
            Ok(names.iter().cloned().collect())
        }
    }
}

fn locked_entry(spec: &ImageSpec, resolved: Resolved) -> LockedImage {
    LockedImage {
        name: spec.name.clone(),
        reference: spec.reference.clone(),
        digest: resolved.digest,
        media_type: resolved.media_type,
        mutable: spec.mutable,
        platforms: spec.platforms.clone(),
        manifests: resolved.manifests,
    }
}

fn out_of_date(plan: &Plan, old: &Lockfile, new: &Lockfile) -> Failure {
    let mut failure = Failure::new(
        Exit::Drift,
        format!("{LOCK_FILE} needs to be updated but `--locked` was passed"),
    );
    // Locked before, and to be resolved again or already different.
    let changed: Vec<&str> = plan
        .resolve
        .iter()
        .map(|(spec, _, _)| spec.name.as_str())
        .chain(
            new.images
                .iter()
                .filter(|(name, entry)| old.images.get(*name).is_some_and(|o| o != *entry))
                .map(|(name, _)| name.as_str()),
        )
        .filter(|name| old.images.contains_key(*name))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !plan.added.is_empty() {
        failure = failure.with_cause(format!("not locked yet: {}", plan.added.join(", ")));
    }
    if !changed.is_empty() {
        failure = failure.with_cause(format!("changed or re-resolved: {}", changed.join(", ")));
    }
    if !plan.removed.is_empty() {
        failure = failure.with_cause(format!(
            "removed from images.toml: {}",
            plan.removed.join(", ")
        ));
    }
    failure.with_hint(format!("run `images lock` and commit {LOCK_FILE}"))
}

/// Every failing image in one error; the worst failure picks the exit code
/// (tampering first, then unreachable registries, then bad references).
fn resolve_failure(failures: Vec<(String, images_resolver::ResolveError)>) -> Failure {
    let exit = failures
        .iter()
        .map(|(_, e)| exit_for(e))
        .max_by_key(|exit| match exit {
            Exit::Drift => 3,
            Exit::Unavailable => 2,
            _ => 1,
        })
        .unwrap_or(Exit::Unavailable);
    let mut failure = Failure::new(
        exit,
        format!(
            "could not lock {} image(s); {LOCK_FILE} was not changed",
            failures.len()
        ),
    );
    for (name, err) in &failures {
        failure = failure.with_cause(format!("{name}: {err}"));
    }
    failure
}

fn join(names: &BTreeSet<String>) -> String {
    names
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
