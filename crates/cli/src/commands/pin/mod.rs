//! `images pin`: write the locked digests into the files that deploy images
//! (Dockerfiles, compose files, Kubernetes manifests, workflows, Helm values,
//! kustomizations), check that they are there (`--check`), or list what
//! images.toml lacks (`--discover`). Offline: only images.toml and
//! images.lock are read.
//!
//! The steps: find the files (`crate::pin::files`), scan each one
//! (`images_scan`), judge each reference against images.toml and the lock
//! and splice the digests in (`judge`), and report (`report`).

mod json;
mod report;

use std::collections::BTreeMap;

use std::path::{Path, PathBuf};

use images_lockfile::{
    status, write_if_changed, Digest, EntryStatus, ImageSpec, Lockfile, ParsedReference, Reference,
};
use images_scan::{is_template, scan, splice, FileKind, Found, Pin};

use crate::args::{Global, PinArgs};
use crate::exit::{Exit, Failure};
use crate::output::Printer;
use crate::pin::files;
use crate::pin::kustomizations::Governed;
use crate::project::Project;
use crate::sarif::column_at;
use report::Report;

/// What one reference in a file amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Already carries the locked digest.
    Pinned,
    /// No digest yet.
    Unpinned,
    /// Carries a digest other than the locked one.
    StaleDigest(Digest),
    /// images.toml does not declare it.
    Undeclared,
    /// Declared, but the lock entry is missing or was made from another declaration.
    LockOutOfDate(EntryStatus),
    /// A variable, a scalar that cannot be spliced, or not a valid reference.
    LeftAlone(String),
    /// Set by a kustomization's `images:` entry (this name, in that file),
    /// which is what `pin` rewrites: left alone, and listed under `-v`.
    Governed { by: PathBuf, name: String },
    /// Several entries declare its tag at different digests and its own
    /// digest names none of them: the entries' names.
    Ambiguous(Vec<String>),
    /// Names another version of a versioned entry's repository (a tag its
    /// filter reads as a version): the update `images lock --update` chose.
    OtherVersion,
}

impl State {
    fn as_str(&self) -> &'static str {
        match self {
            State::Pinned => "pinned",
            State::Unpinned => "unpinned",
            State::StaleDigest(_) => "stale-digest",
            State::Undeclared => "undeclared",
            State::LockOutOfDate(_) => "lock-out-of-date",
            State::LeftAlone(_) | State::Governed { .. } => "left-alone",
            State::Ambiguous(_) => "ambiguous",
            State::OtherVersion => "other-version",
        }
    }

    /// Whether `--check` finds it not pinned (drift). An ambiguous one is
    /// listed too, but as bad input: images.toml must say which entry.
    fn fails_check(&self) -> bool {
        matches!(
            self,
            State::Unpinned
                | State::StaleDigest(_)
                | State::Undeclared
                | State::LockOutOfDate(_)
                | State::OtherVersion
        )
    }
}

/// One reference found, judged against images.toml and images.lock.
struct Record {
    file: PathBuf,
    line: usize,
    /// 1-based column, in characters, where the reference's text starts.
    column: Option<usize>,
    /// As written in the file.
    image: String,
    /// The images.toml entry it belongs to.
    name: Option<String>,
    /// Canonical form, when it parses.
    reference: Option<Reference>,
    /// The locked digest, when the entry is locked.
    digest: Option<Digest>,
    state: State,
    /// The bytes to replace and their new text, when the file should change.
    edit: Option<(std::ops::Range<usize>, String)>,
    rewritten: bool,
}

impl Record {
    /// A reference in `file` in `state`, with no entry, digest or edit yet.
    fn new(file: &Path, line: usize, image: String, state: State) -> Record {
        Record {
            file: file.to_path_buf(),
            line,
            column: None,
            image,
            name: None,
            reference: None,
            digest: None,
            state,
            edit: None,
            rewritten: false,
        }
    }
}

/// A file that could not be read, parsed or written; it is left untouched.
struct Problem {
    file: PathBuf,
    line: Option<usize>,
    message: String,
    /// What it means for the exit code: bad input, unless the file could
    /// not be written.
    exit: Exit,
}

/// A declared image and what the lock says about it.
struct Entry<'a> {
    spec: &'a ImageSpec,
    /// The reference without digest: what a file's reference must equal.
    key: Reference,
    locked: Result<Digest, EntryStatus>,
}

impl Entry<'_> {
    /// The digest this entry stands for: the locked one, else the declared one.
    fn digest(&self) -> Option<&Digest> {
        self.locked
            .as_ref()
            .ok()
            .or_else(|| self.spec.reference.digest())
    }
}

/// What images.toml declares for one reference found in a file.
enum Declared<'e, 'a> {
    Nothing,
    One(&'e Entry<'a>),
    /// Several entries could be meant, at different digests.
    Ambiguous(Vec<&'e Entry<'a>>),
}

/// The entry `reference` belongs to: the one with its repository and tag
/// (or, for a digest-only reference like `x@sha256:…`, one of its
/// repository locked at that digest, or for a versioned entry, any tag of
/// its repository that its filter reads as a version). When several
/// entries could be meant, the one whose digest the reference carries
/// wins; without such a match nothing is guessed.
fn declared<'e, 'a>(reference: &Reference, entries: &'e [Entry<'a>]) -> Declared<'e, 'a> {
    let key = reference.without_digest();
    let digest = reference.digest();
    let same_digest = |e: &&Entry<'_>| digest.is_some() && e.digest() == digest;
    let candidates: Vec<&Entry<'a>> = entries
        .iter()
        .filter(|e| {
            e.key == key
                || (key.tag().is_none() && e.key.name() == key.name() && same_digest(e))
                || another_version(e, &key)
        })
        .collect();
    // The entry locked at this very tag beats one that would move it.
    let candidates = if candidates.iter().any(|e| e.key == key) {
        candidates.into_iter().filter(|e| e.key == key).collect()
    } else {
        candidates
    };
    match candidates.as_slice() {
        [] => Declared::Nothing,
        [one] => Declared::One(one),
        [first, ..] => match candidates.iter().find(|e| same_digest(e)) {
            Some(exact) => Declared::One(exact),
            // Entries locked at one digest all mean the same thing.
            None if candidates.iter().all(|e| e.digest() == first.digest()) => Declared::One(first),
            None => Declared::Ambiguous(candidates),
        },
    }
}

/// Whether `key` names another tag of a versioned entry's repository that
/// its tag filter reads as a version (`nginx:1.27.3` for `~1.27`).
fn another_version(entry: &Entry<'_>, key: &Reference) -> bool {
    let Some(version) = &entry.spec.version else {
        return false;
    };
    entry.key.name() == key.name()
        && key
            .tag()
            .is_some_and(|tag| version.filter.version_of(tag).is_some())
}

fn entries<'a>(specs: impl Iterator<Item = &'a ImageSpec>, lock: &Lockfile) -> Vec<Entry<'a>> {
    specs
        .map(|spec| Entry {
            spec,
            // A versioned entry is pinned where files name the tag it locked.
            key: match (&spec.version, lock.images.get(&spec.name)) {
                (Some(_), Some(locked)) => locked.reference.without_digest(),
                _ => spec.reference.without_digest(),
            },
            locked: match status(spec, lock) {
                EntryStatus::Locked => lock
                    .images
                    .get(&spec.name)
                    .map(|l| l.digest.clone())
                    .ok_or(EntryStatus::Unlocked),
                other => Err(other),
            },
        })
        .collect()
}

/// `images pin`, `pin --check` and `pin --discover`.
pub fn run(global: &Global, args: &PinArgs, printer: Printer) -> Result<Exit, Failure> {
    let project = Project::load(global)?;
    let lock = project.load_lock()?.unwrap_or_default();
    let entries = entries(project.manifest.images.values(), &lock);
    let cwd = crate::paths::current_dir()?;
    let root = project
        .manifest
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| cwd.clone(), Path::to_path_buf);

    let exclusions = files::Exclusions::new(&root, &project.manifest.pin.exclude)
        .map_err(|e| Failure::bad_input(format!("`[pin] exclude` in images.toml: {e}")))?;
    let write = !args.check && !args.discover && !args.diff;
    let report = read_files(
        &args.paths,
        &root,
        &exclusions,
        &entries,
        write,
        args.diff,
        cwd,
    );
    let report = Report {
        verbose: global.verbose > 0,
        ..report
    };
    if args.discover {
        return Ok(report.discover(&project.manifest.images, printer));
    }
    if args.check {
        Ok(report.check(args.format, printer))
    } else {
        Ok(report.pin(printer))
    }
}

/// The references under `root` (or in `paths`) that images.toml does not
/// declare yet, one per image, named as `--discover` names them: what
/// `images init` declares. The report says what could not be read.
pub(super) fn undeclared_in(
    paths: &[PathBuf],
    root: &Path,
    verbose: bool,
) -> Result<(Report, Vec<report::Undeclared>), Failure> {
    let cwd = crate::paths::current_dir()?;
    let exclusions = files::Exclusions::new(root, &[])
        .map_err(|e| Failure::bad_input(format!("cannot search `{}`: {e}", root.display())))?;
    let report = Report {
        verbose,
        ..read_files(paths, root, &exclusions, &[], false, false, cwd)
    };
    let undeclared = report.undeclared(&BTreeMap::new());
    Ok((report, undeclared))
}

/// Reads every file to search, judges each reference against `entries`,
/// and, when `write`, splices the locked digests in; when `diff`, keeps
/// each file's text before and after for `--diff`.
fn read_files(
    paths: &[PathBuf],
    root: &Path,
    exclusions: &files::Exclusions,
    entries: &[Entry<'_>],
    write: bool,
    diff: bool,
    cwd: PathBuf,
) -> Report {
    let mut problems = Vec::new();
    let mut skipped = Vec::new();
    let candidates = candidates(paths, root, exclusions, &mut problems, &mut skipped);
    let kustomizations: Vec<&Path> = candidates
        .iter()
        .filter(|(_, kind, _)| *kind == Some(FileKind::Kustomization))
        .map(|(path, ..)| path.as_path())
        .collect();
    let governed = Governed::new(&kustomizations);
    let mut records = Vec::new();
    let mut written = Vec::new();
    let mut templates = Vec::new();
    let mut changes = Vec::new();
    for (path, kind, explicit) in candidates {
        let text = match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(_) => {
                    problems.push(problem(&path, None, "is not UTF-8 text".to_owned()));
                    continue;
                }
            },
            Err(e) => {
                problems.push(problem(&path, None, format!("cannot be read: {e}")));
                continue;
            }
        };
        let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        let Some(kind) = kind.or_else(|| FileKind::from_text(&text, explicit && yaml)) else {
            if explicit {
                problems.push(problem(
                    &path,
                    None,
                    "is not a Dockerfile, compose file, workflow, Kubernetes manifest or Helm values file".to_owned(),
                ));
            }
            continue;
        };
        let found = match scan(kind, &text) {
            Ok(found) => found,
            // A Helm template is YAML only once rendered: what does not
            // parse and has `{{ … }}` is skipped, and said so. What parses
            // is read whatever text it holds.
            Err(_) if kind == FileKind::Kubernetes && is_template(&text) => {
                templates.push(path);
                continue;
            }
            Err(e) => {
                problems.push(problem(
                    &path,
                    e.line,
                    format!("{e}; the file was left untouched"),
                ));
                continue;
            }
        };
        let governors = governed.of(&path);
        let mut file_records: Vec<Record> = found
            .found
            .iter()
            .map(|f| {
                let record = match governors.governor(&f.image) {
                    Some((by, name)) => {
                        let state = State::Governed {
                            by: by.to_path_buf(),
                            name: name.to_owned(),
                        };
                        Record::new(&path, f.line, f.image.clone(), state)
                    }
                    None => judge(&path, f, entries),
                };
                Record {
                    column: column_at(&text, f.span.start),
                    ..record
                }
            })
            .collect();
        file_records.extend(
            found
                .left_alone
                .into_iter()
                .map(|l| Record::new(&path, l.line, l.text, State::LeftAlone(l.reason))),
        );
        let edits: Vec<_> = file_records.iter().filter_map(|r| r.edit.clone()).collect();
        if !edits.is_empty() && (write || diff) {
            let pinned = splice(&text, &edits);
            if write {
                match write_if_changed(&path, pinned.as_bytes()) {
                    Ok(wrote) => {
                        for r in file_records.iter_mut().filter(|r| r.edit.is_some()) {
                            r.rewritten = true;
                        }
                        if wrote {
                            written.push(path.clone());
                        }
                    }
                    Err(e) => problems.push(Problem {
                        exit: Exit::Unavailable,
                        ..problem(&path, None, format!("cannot be written: {e}"))
                    }),
                }
            }
            if diff {
                changes.push((path.clone(), text, pinned));
            }
        }
        file_records.sort_by_key(|r| r.line);
        records.extend(file_records);
    }

    Report {
        records,
        problems,
        written,
        skipped,
        templates,
        changes,
        diff,
        verbose: false,
        cwd,
    }
}

/// The files to read: what the paths name (directories searched), or the
/// usual files under the directory of images.toml. Each with its kind when
/// the name decides it, and whether the user named it. A file the user
/// names is read whatever `exclusions` say; what a search leaves out is
/// added to `skipped`, and what it cannot read to `problems`.
fn candidates(
    paths: &[PathBuf],
    root: &Path,
    exclusions: &files::Exclusions,
    problems: &mut Vec<Problem>,
    skipped: &mut Vec<(PathBuf, files::Skip)>,
) -> Vec<(PathBuf, Option<FileKind>, bool)> {
    let mut out = Vec::new();
    let mut search = |dir: &Path, out: &mut Vec<_>, problems: &mut Vec<Problem>| {
        let search = files::under(dir, exclusions);
        for (path, why) in search.unreadable {
            problems.push(problem(
                &path,
                None,
                format!("cannot be read ({why}); it was not searched"),
            ));
        }
        for warning in search.warnings {
            tracing::warn!("{warning}");
        }
        skipped.extend(search.skipped);
        out.extend(
            search
                .candidates
                .into_iter()
                .map(|c| (c.path, c.kind, false)),
        );
    };
    if paths.is_empty() {
        search(root, &mut out, problems);
        return out;
    }
    for path in paths {
        if path.is_dir() {
            search(path, &mut out, problems);
        } else if path.exists() {
            out.push((path.clone(), files::kind_by_name(path), true));
        } else {
            problems.push(problem(path, None, "does not exist".to_owned()));
        }
    }
    out
}

fn problem(path: &Path, line: Option<usize>, message: String) -> Problem {
    Problem {
        file: path.to_path_buf(),
        line,
        message,
        exit: Exit::BadInput,
    }
}

/// Judges one reference against the declared entries and the lock.
fn judge(path: &Path, found: &Found, entries: &[Entry<'_>]) -> Record {
    let mut record = Record::new(path, found.line, found.image.clone(), State::Undeclared);
    let (reference, written_tag) = match (
        Reference::parse(&found.image),
        ParsedReference::parse(&found.image),
    ) {
        (Ok(reference), Ok(parsed)) => (reference, parsed.tag.is_some()),
        (Err(e), _) | (_, Err(e)) => {
            record.state = State::LeftAlone(format!(
                "{} is not a valid image reference: {e}",
                found.site
            ));
            return record;
        }
    };
    let key = reference.without_digest();
    record.reference = Some(reference.clone());
    let entry = match declared(&reference, entries) {
        Declared::Nothing => return record,
        Declared::One(entry) => entry,
        Declared::Ambiguous(candidates) => {
            record.state =
                State::Ambiguous(candidates.iter().map(|e| e.spec.name.clone()).collect());
            return record;
        }
    };
    record.name = Some(entry.spec.name.clone());
    let locked = match &entry.locked {
        Ok(digest) => digest,
        Err(state) => {
            record.state = State::LockOutOfDate(*state);
            return record;
        }
    };
    record.digest = Some(locked.clone());
    let other_version = key != entry.key && another_version(entry, &key);
    record.state = match reference.digest() {
        _ if other_version => State::OtherVersion,
        Some(d) if d == locked => State::Pinned,
        Some(d) => State::StaleDigest(d.clone()),
        None => State::Unpinned,
    };
    if record.state != State::Pinned {
        // Keep the reference as the user wrote it; add the tag when it was
        // implied, so the file still says which tag the digest came from.
        let without_digest = found.image.split('@').next().unwrap_or_default();
        let rewritten = match (other_version, entry.key.tag()) {
            // Another version: the repository as written, the locked tag.
            (true, Some(locked_tag)) => {
                let repository = match (written_tag, without_digest.rsplit_once(':')) {
                    (true, Some((repository, tag))) if !tag.contains('/') => repository,
                    _ => without_digest,
                };
                format!("{repository}:{locked_tag}")
            }
            _ => match (written_tag, key.tag()) {
                (false, Some(tag)) => format!("{without_digest}:{tag}"),
                _ => without_digest.to_owned(),
            },
        };
        let tag = if other_version { entry.key.tag() } else { None };
        let digest = locked.to_string();
        record.edit = found.pin(&Pin {
            reference: &rewritten,
            tag,
            digest: &digest,
        });
    }
    record
}
