//! `images diff`: what changed between two locks, grouped the way a reviewer
//! reads a lock change (added, removed, re-pinned, re-tagged, changed), as
//! text, a Markdown pull-request comment or JSON. Also `--textconv`, the
//! line form `git diff` shows when `images.lock` has `diff=images`.

mod render;

use std::path::{Path, PathBuf};

use images_lockfile::{diff, Lockfile, LOCK_FILE};

use crate::args::{DiffArgs, DiffFormat, Global};
use crate::exit::{Exit, Failure};
use crate::git::{GitError, Repo};
use crate::output::{write_stderr, write_stdout, Printer};
use crate::project::Project;
use render::{json_report, lock_lines, markdown, text, Shown};

pub fn run(global: &Global, args: &DiffArgs, printer: Printer) -> Result<Exit, Failure> {
    if let Some(file) = &args.textconv {
        return textconv(file);
    }
    let (old, new) = Sides::resolve(global, args.old.as_deref(), args.new.as_deref())?.load()?;
    let changes = diff(&old.lock, &new.lock);
    let shown = Shown {
        hex_len: (!args.full).then(|| changes.short_digest_len()),
    };
    match args.format {
        DiffFormat::Json => printer.json(&json_report(&changes)),
        DiffFormat::Markdown => write_stdout(&markdown(&changes, &old.label, &new.label, shown)),
        DiffFormat::Text => write_stdout(&text(&changes, &old.label, &new.label, shown)),
    }
    // A difference is the answer, not a failure: CI that wants to gate on
    // lock changes has `images lock --locked` and `images verify`.
    Ok(Exit::Ok)
}

/// Where one side of the diff comes from.
enum Source {
    /// The project's images.lock on disk (absent means an empty lock).
    WorkingTree,
    /// A lock file the user named.
    File(String),
    /// A git revision; `implicit` when the user gave none (`HEAD`).
    Revision { rev: String, implicit: bool },
}

impl Source {
    /// An argument that names an existing file is a file; anything else is
    /// a revision, as `git diff` decides.
    fn from_arg(arg: &str) -> Source {
        if Path::new(arg).is_file() {
            Source::File(arg.to_owned())
        } else {
            Source::Revision {
                rev: arg.to_owned(),
                implicit: false,
            }
        }
    }
}

/// One side, read and parsed.
struct Side {
    /// How messages and headers name it: `HEAD:images.lock`, a path.
    label: String,
    lock: Lockfile,
}

/// The two sides the user asked for, not read yet.
struct Sides {
    old: Source,
    new: Source,
    /// The project's lock, when a side needs it (working tree or revision).
    lock_path: Option<PathBuf>,
}

impl Sides {
    fn resolve(global: &Global, old: Option<&str>, new: Option<&str>) -> Result<Sides, Failure> {
        let (old, new) = match (old, new) {
            (None, _) => (
                Source::Revision {
                    rev: "HEAD".to_owned(),
                    implicit: true,
                },
                Source::WorkingTree,
            ),
            (Some(old), None) => (Source::from_arg(old), Source::WorkingTree),
            (Some(old), Some(new)) => (Source::from_arg(old), Source::from_arg(new)),
        };
        let needs_project = [&old, &new].iter().any(|s| !matches!(s, Source::File(_)));
        let lock_path = if needs_project {
            Some(Project::lock_path_beside(&Project::manifest_path(global)?))
        } else {
            None
        };
        Ok(Sides {
            old,
            new,
            lock_path,
        })
    }

    fn load(self) -> Result<(Side, Side), Failure> {
        let git = match (
            &self.lock_path,
            [&self.old, &self.new]
                .iter()
                .any(|s| matches!(s, Source::Revision { .. })),
        ) {
            (Some(lock_path), true) => Some(GitLock::open(lock_path)?),
            _ => None,
        };
        let old = self.side(&self.old, git.as_ref(), "old")?;
        let new = self.side(&self.new, git.as_ref(), "new")?;
        Ok((old, new))
    }

    fn side(&self, source: &Source, git: Option<&GitLock>, which: &str) -> Result<Side, Failure> {
        let (label, text) = match (source, &self.lock_path, git) {
            (Source::File(path), _, _) => (path.clone(), Some(read_file(Path::new(path))?)),
            (Source::WorkingTree, Some(lock_path), _) => {
                let label = crate::paths::relative(lock_path);
                let text = if lock_path.exists() {
                    Some(read_file(lock_path)?)
                } else {
                    None
                };
                (label, text)
            }
            (Source::Revision { rev, implicit }, _, Some(git)) => {
                let label = format!("{rev}:{}", git.path);
                (label, git.read(rev, *implicit)?)
            }
            // `resolve` and `load` set up what each source needs.
            _ => {
                return Err(Failure::bad_input(format!(
                    "cannot read the {which} side of the diff"
                )))
            }
        };
        let lock = match text {
            None => Lockfile::default(),
            Some(text) => Lockfile::parse(&text, Path::new(&label)).map_err(|e| {
                Failure::bad_input(format!("the {which} lock `{label}` is malformed"))
                    .at(&e)
                    .with_cause(e.to_string())
                    .with_hint(format!(
                        "`{LOCK_FILE}` is written by `images lock`; fix or regenerate it, or compare other revisions"
                    ))
            })?,
        };
        Ok(Side { label, lock })
    }
}

/// The project's lock as git sees it.
struct GitLock {
    repo: Repo,
    /// The lock's path from the repository root.
    path: String,
}

impl GitLock {
    fn open(lock_path: &Path) -> Result<GitLock, Failure> {
        let dir = match lock_path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let file_name = lock_path.file_name().map_or_else(
            || LOCK_FILE.to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        let repo = Repo::discover(dir).map_err(git_failure)?;
        let path = repo.path_in_repo(&file_name).map_err(git_failure)?;
        Ok(GitLock { repo, path })
    }

    /// The lock text at `rev`; `None` when the lock did not exist there,
    /// which makes every entry "added". An implicit `HEAD` in a repository
    /// without commits is treated the same way.
    fn read(&self, rev: &str, implicit: bool) -> Result<Option<String>, Failure> {
        if implicit && !self.repo.has_commit(rev).map_err(git_failure)? {
            return Ok(None);
        }
        let bytes = self.repo.read_at(rev, &self.path).map_err(git_failure)?;
        bytes
            .map(|bytes| {
                String::from_utf8(bytes).map_err(|_| {
                    Failure::bad_input(format!("`{rev}:{}` is not UTF-8 text", self.path))
                })
            })
            .transpose()
    }
}

fn git_failure(err: GitError) -> Failure {
    let two_files = "to compare two lock files, pass both: `images diff OLD_FILE NEW_FILE`";
    match err {
        GitError::NotInstalled(e) => {
            Failure::bad_input(format!("cannot run `git` to read the committed lock: {e}"))
                .with_hint(format!("install git, or {two_files}"))
        }
        GitError::NotARepository(dir) => Failure::bad_input(format!(
            "`{}` is not inside a git repository, so there is no committed {LOCK_FILE} to compare with",
            dir.display()
        ))
        .with_hint(two_files),
        GitError::UnknownRevision(rev) => Failure::bad_input(format!(
            "`{rev}` is neither a lock file nor a git revision"
        ))
        .with_hint("pass an existing file, or a revision such as `HEAD~1`, a branch or a commit"),
        GitError::Failed(stderr) => Failure::bad_input("git could not read the committed lock")
            .with_cause(stderr),
    }
}

fn read_file(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::bad_input(format!("cannot read `{}`: {e}", path.display())))
}

/// `--textconv FILE`: the lock as lines that each name their entry, so a
/// hunk in `git diff` says which image changed without scrolling up, and
/// with full digests, so no change can hide behind a shortened one.
///
/// git runs this on every version it shows, including ones in the middle
/// of a merge conflict; failing would abort the whole `git diff`, so a file
/// that is not a valid lock is shown as it is, under a warning line.
fn textconv(file: &Path) -> Result<Exit, Failure> {
    let text = read_file(file)?;
    if text.trim().is_empty() {
        return Ok(Exit::Ok);
    }
    match Lockfile::parse(&text, file) {
        Ok(lock) => write_stdout(&lock_lines(&lock)),
        Err(e) => {
            write_stderr(&format!("warning: {e}\n"));
            write_stdout(&format!(
                "# images: not a valid lock ({e}); shown as is\n{text}"
            ));
        }
    }
    Ok(Exit::Ok)
}
