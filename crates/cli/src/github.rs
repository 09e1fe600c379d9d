//! GitHub Actions workflow commands (`--format github`): one annotation per
//! finding, shown on the pull request's diff at the file and line given.
//!
//! The format and its escaping rules are GitHub's "workflow commands":
//! `::error file=F,line=L,title=T::MESSAGE`. Paths must be relative to the
//! repository root for the annotation to land on the right file.

use std::fmt;
use std::path::{Component, Path, PathBuf};

/// How loud an annotation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Fails the check in the GitHub UI.
    Error,
    /// Shown, but does not read as a failure.
    Warning,
}

/// One `::error …::…` or `::warning …::…` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub level: Level,
    /// Path as GitHub wants it (relative to the repository root, `/`-separated).
    pub file: String,
    /// 1-based line in `file`, when known.
    pub line: Option<usize>,
    pub title: String,
    /// May span lines; GitHub shows them.
    pub message: String,
}

impl fmt::Display for Annotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let command = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        write!(f, "::{command} file={}", escape_property(&self.file))?;
        if let Some(line) = self.line {
            write!(f, ",line={line}")?;
        }
        write!(
            f,
            ",title={}::{}",
            escape_property(&self.title),
            escape_data(&self.message)
        )
    }
}

/// Escapes a command's message: `%`, CR and LF, as the runner decodes them.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: as [`escape_data`], plus `:` and `,`, which
/// would otherwise end the value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `path` as an annotation names it: relative to the root of the git
/// repository that holds it, else relative to `cwd`, else as given.
pub fn annotation_path(path: &Path, cwd: &Path) -> String {
    let absolute = absolute(path, cwd);
    let base = repository_root(&absolute).unwrap_or_else(|| normalize(cwd));
    let shown = absolute
        .strip_prefix(&base)
        .map_or_else(|_| absolute.clone(), Path::to_path_buf);
    shown
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// `path` read from `cwd`, absolute and without `.` or `..`.
pub fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    normalize(&cwd.join(path))
}

/// The directory paths are named relative to: the root of the git
/// repository that holds `cwd`, else `cwd` itself, as [`annotation_path`]
/// falls back to it.
pub fn repository_base(cwd: &Path) -> PathBuf {
    let cwd = normalize(cwd);
    // `repository_root` looks above a file; `cwd` may be the root itself.
    repository_root(&cwd.join(".git")).unwrap_or(cwd)
}

/// The nearest ancestor of `path` with a `.git` entry (a directory, or a
/// file for worktrees and submodules). No `git` process: annotations must
/// work where git is not installed, and this is all GitHub means by root.
fn repository_root(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Drops `.` and folds `..` without touching the filesystem (no symlink
/// resolution, so the result still starts with `cwd` when `path` did).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_renders_as_a_workflow_command() {
        let annotation = Annotation {
            level: Level::Error,
            file: "deploy/images.lock".into(),
            line: Some(12),
            title: "tag moved".into(),
            message: "api (acme/api:v1)\nlocked: sha256:aa".into(),
        };
        assert_eq!(
            annotation.to_string(),
            "::error file=deploy/images.lock,line=12,title=tag moved::api (acme/api:v1)%0Alocked: sha256:aa"
        );
    }

    #[test]
    fn escaping_follows_github_rules() {
        assert_eq!(escape_data("100% a\r\nb: c, d"), "100%25 a%0D%0Ab: c, d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn warning_without_line_omits_it() {
        let annotation = Annotation {
            level: Level::Warning,
            file: "images.lock".into(),
            line: None,
            title: "could not check".into(),
            message: "registry down".into(),
        };
        assert_eq!(
            annotation.to_string(),
            "::warning file=images.lock,title=could not check::registry down"
        );
    }

    #[test]
    fn paths_are_relative_to_the_repository_root() {
        let repo = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(repo.path().join(".git")).expect("mkdir .git");
        std::fs::create_dir_all(repo.path().join("deploy/sub")).expect("mkdir");
        let cwd = repo.path().join("deploy/sub");
        assert_eq!(
            annotation_path(Path::new("../images.lock"), &cwd),
            "deploy/images.lock"
        );
    }

    #[test]
    fn paths_outside_a_repository_are_relative_to_cwd() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cwd = dir.path().join("project");
        std::fs::create_dir_all(&cwd).expect("mkdir");
        assert_eq!(
            repository_root(&cwd.join("images.lock")),
            None,
            "the temp dir must not be inside a git repository for this test"
        );
        assert_eq!(
            annotation_path(&cwd.join("images.lock"), &cwd),
            "images.lock"
        );
    }
}
