//! `images lock`: resolve new and changed entries and write images.lock.

use std::collections::{BTreeMap, BTreeSet};

use images_lockfile::{
    changed, locked_check, plan_lock, versioned_tags, ImageSpec, LockPlan, LockedCheck,
    LockedSignature, Lockfile, Reference, Target, VersionSpec, LOCK_FILE,
};
use images_resolver::signature::TrustedKey;
use images_resolver::{check_signers, Resolver, SignerCheck};
use serde::Serialize;

use crate::args::{Global, LockArgs};
use crate::exit::{Exit, Failure, ImageError};
use crate::output::write_stderr;
use crate::output::Printer;
use crate::paths::relative;
use crate::project::Project;
use crate::text_diff::unified;
use crate::untrusted::escape;

pub fn run(global: &Global, args: &LockArgs, printer: Printer) -> Result<Exit, Failure> {
    let (project, _guard) = Project::load_for_edit(global, printer)?;
    let outcome = lock_project(global, &project, args, printer)?;
    if printer.is_json() {
        printer.json(&outcome.report());
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

/// The `images lock --format json` document (docs/json.md).
#[derive(Serialize)]
pub struct LockReport<'a> {
    version: u32,
    written: bool,
    added: &'a [String],
    updated: &'a [String],
    removed: &'a [String],
    /// How many entries the lock holds now.
    images: usize,
}

impl LockOutcome {
    /// The `images lock --format json` document.
    pub fn report(&self) -> LockReport<'_> {
        LockReport {
            version: 1,
            written: self.wrote,
            added: &self.added,
            updated: &self.updated,
            removed: &self.removed,
            images: self.lock.images.len(),
        }
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
/// any image fails to resolve. The caller holds the project's
/// [`ProjectLock`](crate::project_lock::ProjectLock).
pub fn lock_project(
    global: &Global,
    project: &Project,
    args: &LockArgs,
    printer: Printer,
) -> Result<LockOutcome, Failure> {
    let old = project.load_lock()?.unwrap_or_default();
    let manifest = &project.manifest;

    let forced = forced_updates(args, manifest.images.keys())?;
    let mut plan = plan_lock(manifest, &old, &forced);

    // Without --update the outcome of --locked is known offline.
    if args.locked && args.update.is_none() && plan.out_of_date_offline(&old) {
        return Err(out_of_date(project, &plan, &old, &plan.lock));
    }
    // What is kept is the start of the new lock; the plan needs no copy.
    let mut new = std::mem::take(&mut plan.lock);

    if !plan.resolve.is_empty() {
        let resolver = Resolver::new(project.resolver_config(global)?);
        choose_tags(&resolver, &mut plan, printer)?;
        let requests: Vec<_> = plan
            .resolve
            .iter()
            .map(|target| {
                (
                    target.ask.clone(),
                    target.spec.platforms.clone(),
                    target.keep.as_ref().map(|l| l.digest.clone()),
                )
            })
            .collect();
        printer.status(&format!("Resolving {} image(s)", requests.len()));
        let progress = printer.progress(requests.len(), "Resolving");
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
        for (target, result) in plan.resolve.iter().zip(results) {
            let spec = target.spec;
            match (result, &target.keep) {
                (Ok(Some(resolved)), _) => {
                    if !resolved.skipped.is_empty() {
                        printer.warning(&format!(
                            "{}: left out index entries whose platform is not a valid OCI platform: {}",
                            spec.name,
                            resolved.skipped.join(", ")
                        ));
                    }
                    let entry =
                        target.locked(resolved.digest, resolved.media_type, resolved.manifests);
                    new.images.insert(spec.name.clone(), entry);
                }
                // The tag still names the locked digest.
                (Ok(None), Some(_)) => {
                    if let Some(kept) = target.kept() {
                        new.images.insert(spec.name.clone(), kept);
                    }
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
            let failure = resolve_failure(failures);
            // What did resolve may already show the lock out of date:
            // under `--locked` that is drift, which outranks the rest.
            if args.locked && plan.would_change(&old, &new) {
                return Err(out_of_date(project, &plan, &old, &new).and(failure));
            }
            return Err(failure);
        }
        // Locking is the moment of trust: an entry that requires signers
        // is locked only with a valid signature by each of them.
        let signed: Vec<&str> = plan
            .resolve
            .iter()
            .filter(|t| !t.spec.signed_by.is_empty())
            .map(|t| t.spec.name.as_str())
            .collect();
        if !signed.is_empty() {
            check_signatures(&resolver, project, &mut new, &signed, printer)?;
        }
    }

    // Entries that were locked before and are different now.
    let updated: Vec<String> = changed(&old, &new).into_iter().map(str::to_owned).collect();
    if args.locked {
        // `--locked` never writes, not even a reformat: a lock that says
        // the right things in another form (or no lock at all) would be
        // rewritten by `images lock`, so it is out of date too.
        let on_disk = std::fs::read(&project.lock_path).ok();
        let cause = match locked_check(&old, &new, on_disk.as_deref()) {
            LockedCheck::UpToDate => None,
            LockedCheck::Changed => return Err(out_of_date(project, &plan, &old, &new)),
            LockedCheck::NotCanonical => Some(format!(
                "{LOCK_FILE} is not in the form `images lock` writes (edited by hand?)"
            )),
            LockedCheck::Missing => Some(format!("there is no {LOCK_FILE} yet")),
        };
        if let Some(cause) = cause {
            return Err(out_of_date(project, &plan, &old, &new).with_cause(cause));
        }
        return Ok(LockOutcome {
            wrote: false,
            added: plan.added,
            updated,
            removed: plan.removed,
            lock: new,
        });
    }
    let wrote = new
        .write_if_changed(&project.lock_path)
        .map_err(|e| Failure::cannot_write(&project.lock_path, &e))?;

    Ok(LockOutcome {
        wrote,
        added: plan.added,
        updated,
        removed: plan.removed,
        lock: new,
    })
}

/// How many of the newest tags an error lists when none is allowed.
const TAGS_SHOWN: usize = 5;

/// Lists the tags of each versioned entry's repository and points the
/// entry at the newest one its requirement allows. An entry with no
/// allowed tag is bad input (exit 2) naming the newest tags there are.
fn choose_tags(resolver: &Resolver, plan: &mut LockPlan, printer: Printer) -> Result<(), Failure> {
    let mut choose: Vec<&mut Target> = plan.resolve.iter_mut().filter(|t| t.choose_tag).collect();
    if choose.is_empty() {
        return Ok(());
    }
    let repositories: Vec<Reference> = choose.iter().map(|t| t.spec.reference.clone()).collect();
    printer.status(&format!(
        "Listing tags of {} repositor{}",
        repositories.len(),
        if repositories.len() == 1 { "y" } else { "ies" }
    ));
    let listed = crate::interrupt::block_on(
        &super::runtime()?,
        resolver.list_tags_many(&repositories),
        &format!("{LOCK_FILE} was not changed"),
    )?;
    let mut failures: Vec<(String, ImageError)> = Vec::new();
    for (target, tags) in choose.iter_mut().zip(listed) {
        let spec = target.spec;
        let Some(version) = &spec.version else {
            continue;
        };
        let tags = match tags {
            Ok(tags) => tags,
            Err(e) => {
                failures.push((spec.name.clone(), ImageError::registry(&e)));
                continue;
            }
        };
        let chosen = version
            .newest_allowed(tags.iter().map(String::as_str))
            .and_then(|chosen| spec.reference.with_tag(chosen.tag));
        match chosen {
            Some(reference) => target.choose(reference),
            None => failures.push((
                spec.name.clone(),
                ImageError::new(Exit::BadInput, no_allowed_tag(spec, version, &tags)),
            )),
        }
    }
    if failures.is_empty() {
        return Ok(());
    }
    let failure = per_image_failure(failures, |n| {
        format!("could not choose a tag for {n} image(s); {LOCK_FILE} was not changed")
    });
    Err(failure
        .with_hint("loosen `version` (or `tags`) in images.toml, or check the repository's tags"))
}

/// "no tag of … is allowed by …", with the newest tags that exist.
fn no_allowed_tag(spec: &ImageSpec, version: &VersionSpec, tags: &[String]) -> String {
    let repository = spec.reference.familiar_name();
    // Only valid tags are shown: what a registry lists is not printed raw.
    let valid = || {
        tags.iter()
            .map(String::as_str)
            .filter(|t| spec.reference.with_tag(t).is_some())
    };
    let mut newest: Vec<&str> = versioned_tags(&version.filter, valid())
        .into_iter()
        .map(|t| t.tag)
        .take(TAGS_SHOWN)
        .collect();
    if newest.is_empty() {
        // None reads as a version: show the last tags by name.
        newest = valid().rev().take(TAGS_SHOWN).collect();
    }
    let filter = match &version.declared.tags {
        Some(tags) => format!(" among the tags matching `{tags}`"),
        None => String::new(),
    };
    let shown = if newest.is_empty() {
        "it has no tags".to_string()
    } else {
        format!("newest tags: {}", newest.join(", "))
    };
    format!(
        "no tag of `{repository}` is allowed by `version = \"{}\"`{filter} ({shown})",
        version.declared.version
    )
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

/// Each signer's keys, ready to verify with. A key whose point is not on
/// the curve is the user's file to fix.
pub fn trusted_keys(project: &Project) -> Result<BTreeMap<String, Vec<TrustedKey>>, Failure> {
    let mut out = BTreeMap::new();
    for (name, signer) in &project.manifest.signers {
        let mut keys = Vec::new();
        for key in &signer.keys {
            let trusted = TrustedKey::from_spki_der(name, &key.der).ok_or_else(|| {
                Failure::bad_input(format!(
                    "signer `{name}`: key `{}` is not a valid P-256 public key (its point is not on the curve)",
                    key.path.display()
                ))
            })?;
            keys.push(trusted);
        }
        out.insert(name.clone(), keys);
    }
    Ok(out)
}

/// Finds and checks the signatures of the entries `names` in `new`,
/// recording what verified; any entry missing a required signature fails
/// the whole run (exit 1, nothing written), naming the signer and what was
/// found instead.
fn check_signatures(
    resolver: &Resolver,
    project: &Project,
    new: &mut Lockfile,
    names: &[&str],
    printer: Printer,
) -> Result<(), Failure> {
    let keys = trusted_keys(project)?;
    let targets: Vec<(String, Reference, images_lockfile::Digest)> = names
        .iter()
        .filter_map(|name| new.images.get(*name))
        .map(|e| (e.name.clone(), e.reference.clone(), e.digest.clone()))
        .collect();
    printer.status(&format!(
        "Checking signatures of {} image(s)",
        targets.len()
    ));
    let found = crate::interrupt::block_on(
        &super::runtime()?,
        futures::future::join_all(
            targets
                .iter()
                .map(|(_, reference, digest)| resolver.signature_artifacts(reference, digest)),
        ),
        &format!("{LOCK_FILE} was not changed"),
    )?;
    let mut failures: Vec<(String, ImageError)> = Vec::new();
    for ((name, _, digest), artifacts) in targets.iter().zip(found) {
        let artifacts = match artifacts {
            Ok(artifacts) => artifacts,
            Err(e) => {
                failures.push((name.clone(), ImageError::registry(&e)));
                continue;
            }
        };
        let Some(spec) = project.manifest.images.get(name) else {
            continue;
        };
        let signers: Vec<(String, Vec<TrustedKey>)> = spec
            .signed_by
            .iter()
            .map(|s| (s.clone(), keys.get(s).cloned().unwrap_or_default()))
            .collect();
        let mut recorded = Vec::new();
        for (signer, check) in check_signers(&artifacts, digest, &signers) {
            match check {
                SignerCheck::Signed { key, artifact } => recorded.push(LockedSignature {
                    signer,
                    key,
                    artifact,
                }),
                refused => failures.push((
                    name.clone(),
                    ImageError::new(
                        Exit::Drift,
                        format!("{digest} is {}", escape(&refused.describe(&signer))),
                    ),
                )),
            }
        }
        if let Some(entry) = new.images.get_mut(name) {
            recorded.sort();
            entry.signatures = recorded;
        }
    }
    if failures.is_empty() {
        return Ok(());
    }
    let failure = per_image_failure(failures, |n| {
        format!("{n} image(s) lack a required signature; {LOCK_FILE} was not changed")
    });
    Err(failure.with_hint(
        "sign the digest with one of the signer's keys (`cosign sign --key …`), or check `[signers]` in images.toml",
    ))
}

/// `--locked` refused to write: shows on stderr the unified diff of
/// images.lock against what `images lock` would write (so a CI log shows
/// the fix), and says what is out of date.
fn out_of_date(project: &Project, plan: &LockPlan, old: &Lockfile, new: &Lockfile) -> Failure {
    // What was not resolved (`--locked` alone asks no registry; or a
    // registry failed) keeps its old entry in the diff, and is named.
    let mut shown = new.clone();
    let mut unresolved = Vec::new();
    for target in &plan.resolve {
        let name = &target.spec.name;
        if shown.images.contains_key(name) {
            continue;
        }
        unresolved.push(name.as_str());
        if let Some(entry) = old.images.get(name) {
            shown.images.insert(name.clone(), entry.clone());
        }
    }
    // No lock, or one that is not text, is all added.
    let current = std::fs::read_to_string(&project.lock_path).unwrap_or_default();
    write_stderr(&unified(
        &relative(&project.lock_path),
        &current,
        &shown.to_toml(),
    ));
    let mut failure = Failure::new(
        Exit::Drift,
        format!("{LOCK_FILE} needs to be updated but `--locked` was passed"),
    );
    if !unresolved.is_empty() {
        failure = failure.with_cause(format!(
            "not in the diff: the digests of {}, which only the registry can tell",
            unresolved.join(", ")
        ));
    }
    // Locked before, and to be resolved again or already different.
    let changed = plan.changed_or_resolved(old, new);
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

/// Every failing image in one error, the registry's words escaped; the
/// one rule of [`Exit::of`] picks the exit code (tampering first, then bad
/// references, then what could not be checked).
fn resolve_failure(failures: Vec<(String, images_resolver::ResolveError)>) -> Failure {
    let failures = failures
        .into_iter()
        .map(|(name, e)| (name, ImageError::registry(&e)))
        .collect();
    per_image_failure(failures, |n| {
        format!("could not lock {n} image(s); {LOCK_FILE} was not changed")
    })
}

/// One error for a run in which some images failed, each a `name: message`
/// cause with its hint; `headline` gets the number of images, and the one
/// exit-code rule picks the code from theirs.
fn per_image_failure(
    failures: Vec<(String, ImageError)>,
    headline: impl FnOnce(usize) -> String,
) -> Failure {
    let exit = Exit::of(failures.iter().map(|(_, e)| e.exit));
    let images = failures
        .iter()
        .map(|(name, _)| name)
        .collect::<BTreeSet<_>>()
        .len();
    let mut failure = Failure::new(exit, headline(images));
    for (name, error) in failures {
        failure = failure.with_cause(format!("{name}: {}", error.message));
        if let Some(hint) = error.hint {
            failure = failure.with_hint(hint);
        }
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
