//! Reading files as a git revision has them, without touching the working
//! tree or the index.
//!
//! Runs the `git` the user has, as a subprocess: it already knows their
//! repository layout (worktrees, `GIT_DIR`, submodules, packed refs), which
//! a library would have to relearn.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Why git could not answer.
#[derive(Debug)]
pub enum GitError {
    /// `git` is not installed or could not be started.
    NotInstalled(io::Error),
    /// The directory is not inside a git work tree.
    NotARepository(PathBuf),
    /// The revision names no commit.
    UnknownRevision(String),
    /// git failed in a way we did not expect; its stderr, trimmed.
    Failed(String),
}

/// A git work tree, located from a directory inside it.
pub struct Repo {
    /// The directory git runs in (inside the work tree).
    dir: PathBuf,
}

impl Repo {
    /// The repository containing `dir`.
    pub fn discover(dir: &Path) -> Result<Repo, GitError> {
        let repo = Repo {
            dir: dir.to_owned(),
        };
        let output = repo.git(["rev-parse", "--is-inside-work-tree"])?;
        if !output.status.success() || String::from_utf8_lossy(&output.stdout).trim() != "true" {
            return Err(GitError::NotARepository(dir.to_owned()));
        }
        Ok(repo)
    }

    /// The path of `file_name` in `dir` relative to the repository root,
    /// with `/` separators, as a `REV:path` spec needs it.
    pub fn path_in_repo(&self, file_name: &str) -> Result<String, GitError> {
        let output = self.git(["rev-parse", "--show-prefix"])?;
        if !output.status.success() {
            return Err(failed(&output));
        }
        let prefix = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        Ok(format!("{prefix}{file_name}"))
    }

    /// Whether `rev` names a commit. `HEAD` in a repository without commits
    /// does not.
    pub fn has_commit(&self, rev: &str) -> Result<bool, GitError> {
        let spec = format!("{rev}^{{commit}}");
        // `--end-of-options` keeps a revision starting with `-` from being
        // read as an option.
        let output = self.git([
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ])?;
        Ok(output.status.success())
    }

    /// The bytes of `path` (relative to the repository root) at `rev`, or
    /// `None` when the revision has no such file.
    pub fn read_at(&self, rev: &str, path: &str) -> Result<Option<Vec<u8>>, GitError> {
        if !self.has_commit(rev)? {
            return Err(GitError::UnknownRevision(rev.to_owned()));
        }
        let spec = format!("{rev}:{path}");
        // `cat-file` rather than `show`: plumbing never runs a textconv
        // filter, so a configured `diff.images.textconv` cannot feed our own
        // text form back to us.
        let exists = self.git(["cat-file", "-e", &spec])?;
        if !exists.status.success() {
            return Ok(None);
        }
        let output = self.git(["cat-file", "blob", &spec])?;
        if !output.status.success() {
            return Err(failed(&output));
        }
        Ok(Some(output.stdout))
    }

    fn git<I, S>(&self, args: I) -> Result<Output, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(args)
            .output()
            .map_err(GitError::NotInstalled)
    }
}

fn failed(output: &Output) -> GitError {
    GitError::Failed(String::from_utf8_lossy(&output.stderr).trim().to_owned())
}
