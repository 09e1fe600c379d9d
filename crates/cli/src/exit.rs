//! The one place where outcomes become exit codes and errors become text.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use images_lockfile::{LockError, ManifestError};
use images_resolver::{ErrorClass, ResolveError};

/// Exit codes, as documented in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// All good.
    Ok = 0,
    /// Drift found, or the lock is out of date under `--locked`.
    Drift = 1,
    /// Bad input: usage, malformed files, invalid references.
    BadInput = 2,
    /// Could not check: network, TLS, auth, registry error.
    Unavailable = 3,
    /// Stopped by SIGHUP (128 + 1), the terminal closing.
    HungUp = 129,
    /// Stopped by Ctrl-C (128 + SIGINT, as a shell reports it).
    Interrupted = 130,
    /// Stopped by SIGTERM (128 + 15), as `kill` or a CI runner sends it.
    Terminated = 143,
}

/// A command that could not do its job: what to print and how to exit.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
    /// The offending line of a file, with a caret under the column.
    pub excerpt: Option<String>,
    pub causes: Vec<String>,
    pub hint: Option<String>,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            exit,
            message: message.into(),
            excerpt: None,
            causes: Vec::new(),
            hint: None,
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Failure::new(Exit::BadInput, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Shows the line of `path` the failure is about, when it points into one.
    pub fn at(mut self, path: &Path, line: Option<usize>, column: Option<usize>) -> Self {
        if let (Some(line), Some(column)) = (line, column) {
            self.excerpt = crate::excerpt::excerpt(path, line, column);
        }
        self
    }

    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }
}

impl From<ManifestError> for Failure {
    fn from(err: ManifestError) -> Self {
        let (path, line, column) = (err.path().to_owned(), err.line(), err.column());
        Failure::bad_input(err.to_string()).at(&path, line, column)
    }
}

impl From<LockError> for Failure {
    fn from(err: LockError) -> Self {
        let (path, line, column) = (err.path().to_owned(), err.line(), err.column());
        Failure::bad_input(err.to_string()).at(&path, line, column)
    }
}

/// The exit code a resolver error leads to when it stops a command.
pub fn exit_for(err: &ResolveError) -> Exit {
    match err {
        ResolveError::Tampered { .. } => Exit::Drift,
        _ => match err.class() {
            ErrorClass::Finding => Exit::BadInput,
            ErrorClass::Unavailable => Exit::Unavailable,
        },
    }
}

/// Prints a failure uv-style (`error:` / `caused by:` / `hint:`) and picks the code.
pub fn finish(result: Result<Exit, Failure>) -> ExitCode {
    match result {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(failure) => {
            let mut text = format!("{} {}\n", crate::output::label_error(), failure.message);
            if let Some(excerpt) = &failure.excerpt {
                let _ = writeln!(text, "{excerpt}");
            }
            for cause in &failure.causes {
                let _ = writeln!(text, "  caused by: {cause}");
            }
            if let Some(hint) = &failure.hint {
                let _ = writeln!(text, "{} {hint}", crate::output::label_hint());
            }
            crate::output::write_stderr(&text);
            ExitCode::from(failure.exit as u8)
        }
    }
}
