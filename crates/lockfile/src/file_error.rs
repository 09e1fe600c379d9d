//! Errors about a place in a file, shared by images.toml and images.lock.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::spanned_toml::line_col;

/// An error about a file, displayed on one line as
/// `images.toml:4:8: unknown key `imgae` in image `web` (expected …)`, or
/// `images.lock: cannot read: …` when it points nowhere inside the file.
///
/// `K` says what kind of problem it is: [`ManifestError`](crate::ManifestError)
/// and [`LockError`](crate::LockError) are this type with their own kinds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct FileError<K> {
    pub(crate) path: PathBuf,
    pub(crate) location: Option<(usize, usize)>,
    /// The text of the line `location` points at, kept so the error can be
    /// shown with it even when the file is not on disk (a lock read from a
    /// git revision) or has changed since.
    pub(crate) line_text: Option<String>,
    pub(crate) message: String,
    pub(crate) kind: K,
}

impl<K> FileError<K> {
    /// An error about `path`, pointing at the start of `span` in its `text`
    /// when there is one.
    pub(crate) fn at(
        path: &Path,
        text: &str,
        span: Option<Range<usize>>,
        message: String,
        kind: K,
    ) -> Self {
        let location = span.map(|s| line_col(text, s.start));
        let line_text = location.and_then(|(line, _)| {
            let source = text.lines().nth(line.checked_sub(1)?)?;
            Some(source.trim_end_matches('\r').to_owned())
        });
        FileError {
            path: path.to_owned(),
            location,
            line_text,
            message,
            kind,
        }
    }
}

impl<K> FileError<K> {
    /// An error about `path` as a whole (it cannot be read, it is not there).
    pub(crate) fn about(path: &Path, message: String, kind: K) -> Self {
        FileError {
            path: path.to_owned(),
            location: None,
            line_text: None,
            message,
            kind,
        }
    }
}

impl<K: Copy> FileError<K> {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// 1-based line, when the error points into the file.
    pub fn line(&self) -> Option<usize> {
        self.location.map(|(line, _)| line)
    }

    /// 1-based column (in characters), when the error points into the file.
    pub fn column(&self) -> Option<usize> {
        self.location.map(|(_, column)| column)
    }

    /// The text of the line the error points at, as it was read.
    pub fn line_text(&self) -> Option<&str> {
        self.line_text.as_deref()
    }

    /// The message without the `file:line:column: ` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What kind of problem it is.
    pub fn kind(&self) -> K {
        self.kind
    }
}

impl<K> fmt::Display for FileError<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.path.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}
