//! The one place where outcomes become exit codes and errors become text.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use images_lockfile::{FileError, LockError, ManifestError};
use images_resolver::{ErrorClass, ResolveError};

/// Exit codes, as documented in `--help` and the README.
///
/// Deliberately not `Ord`: the numbers do not rank outcomes (2 must not
/// hide 1). A run with several outcomes combines them with [`Exit::of`] or
/// [`Exit::and`], the one place that says which wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl Exit {
    /// The code of a run with all these outcomes, by the one rule of the
    /// design: any drift or tampering -> 1; else any bad input -> 2; else
    /// anything not checked -> 3; else 0. A signal that stopped the run is
    /// something not checked that keeps its own code (130, 143, 129), so a
    /// shell sees the Ctrl-C, SIGTERM or SIGHUP.
    pub fn of(outcomes: impl IntoIterator<Item = Exit>) -> Exit {
        outcomes.into_iter().fold(Exit::Ok, Exit::and)
    }

    /// The code of a run with both outcomes; see [`Exit::of`].
    pub fn and(self, other: Exit) -> Exit {
        if other.precedence() > self.precedence() {
            other
        } else {
            self
        }
    }

    /// Which outcome wins when a run has several: higher wins.
    fn precedence(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Unavailable => 1,
            Exit::Interrupted | Exit::Terminated | Exit::HungUp => 2,
            Exit::BadInput => 3,
            Exit::Drift => 4,
        }
    }
}

/// A command that could not do its job: what to print and how to exit.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
    /// The offending line of a file, with a caret under the column.
    pub excerpt: Option<String>,
    pub causes: Vec<String>,
    /// What to do about it, one `hint:` line each.
    pub hints: Vec<String>,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            exit,
            message: message.into(),
            excerpt: None,
            causes: Vec::new(),
            hints: Vec::new(),
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Failure::new(Exit::BadInput, message)
    }

    /// A file that could not be written (read-only, disk full, a name too
    /// long). Not bad input: what the user wrote is fine, the work just
    /// could not be finished, which exits 3 like anything not checked.
    pub fn cannot_write(path: &Path, err: &std::io::Error) -> Self {
        Failure::new(
            Exit::Unavailable,
            format!("cannot write `{}`: {err}", path.display()),
        )
    }

    /// Adds a `hint:` line, unless the failure has it already (several
    /// images can fail for the one reason).
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        let hint = hint.into();
        if !self.hints.contains(&hint) {
            self.hints.push(hint);
        }
        self
    }

    /// Shows the line of the file `err` is about, when it points into one.
    pub fn at<K: Copy>(mut self, err: &FileError<K>) -> Self {
        if let (Some(source), Some(line), Some(column)) =
            (err.line_text(), err.line(), err.column())
        {
            self.excerpt = crate::excerpt::excerpt(source, line, column);
        }
        self
    }

    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }

    /// This failure and `other` in one: the exit code by [`Exit::and`],
    /// `other`'s message and causes as further causes, its hints after ours.
    pub fn and(mut self, other: Failure) -> Self {
        self.exit = self.exit.and(other.exit);
        self.causes.push(other.message);
        self.causes.extend(other.causes);
        other.hints.into_iter().fold(self, Failure::with_hint)
    }
}

impl From<ManifestError> for Failure {
    fn from(err: ManifestError) -> Self {
        Failure::bad_input(err.to_string()).at(&err)
    }
}

impl From<LockError> for Failure {
    fn from(err: LockError) -> Self {
        Failure::bad_input(err.to_string()).at(&err)
    }
}

/// One image that could not be handled: what it means for the exit code,
/// the message (registry text escaped), and what to do about it.
#[derive(Debug, Clone)]
pub struct ImageError {
    pub exit: Exit,
    pub message: String,
    pub hint: Option<String>,
}

impl ImageError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        ImageError {
            exit,
            message: message.into(),
            hint: None,
        }
    }

    /// What a resolver error says, escaped, with the binary's hint.
    pub fn registry(err: &ResolveError) -> Self {
        ImageError {
            exit: exit_for(err),
            message: crate::untrusted::escape(&err.to_string()),
            hint: crate::hints::for_registry(err),
        }
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

/// Prints a failure uv-style (`error:` / `caused by:` / `hint:`) and picks
/// the code. A report that could not be written to stdout (other than to
/// a reader that hung up, which is the reader's choice) is not success,
/// and never hides what the checks found: it joins the outcomes as
/// "could not finish", exit 3.
pub fn finish(result: Result<Exit, Failure>) -> ExitCode {
    let exit = outcome(result);
    let exit = match crate::output::stdout_error() {
        Some(err) => {
            crate::output::write_stderr(&format!(
                "{} cannot write to stdout: {err}\n",
                crate::output::label_error()
            ));
            exit.and(Exit::Unavailable)
        }
        None => exit,
    };
    ExitCode::from(exit as u8)
}

/// Prints a failure and returns the command's exit code.
fn outcome(result: Result<Exit, Failure>) -> Exit {
    match result {
        Ok(exit) => exit,
        Err(failure) => {
            let mut text = format!("{} {}\n", crate::output::label_error(), failure.message);
            if let Some(excerpt) = &failure.excerpt {
                let _ = writeln!(text, "{excerpt}");
            }
            for cause in &failure.causes {
                let _ = writeln!(text, "  caused by: {cause}");
            }
            for hint in &failure.hints {
                let _ = writeln!(text, "{} {hint}", crate::output::label_hint());
            }
            crate::output::write_stderr(&text);
            failure.exit
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Exit::{self, BadInput, Drift, Interrupted, Ok, Unavailable};

    #[test]
    fn drift_wins_then_bad_input_then_not_checked() {
        assert_eq!(Exit::of([]), Ok);
        assert_eq!(Exit::of([Ok, Ok]), Ok);
        assert_eq!(Exit::of([BadInput, Drift]), Drift);
        assert_eq!(Exit::of([Drift, Unavailable]), Drift);
        assert_eq!(Exit::of([Unavailable, BadInput]), BadInput);
        assert_eq!(Exit::of([Unavailable, Ok]), Unavailable);
        assert_eq!(Exit::of([Unavailable, BadInput, Drift, Ok]), Drift);
        assert_eq!(Exit::of([Interrupted, Unavailable]), Interrupted);
        assert_eq!(Exit::of([Interrupted, BadInput]), BadInput);
    }

    #[test]
    fn the_order_of_outcomes_does_not_matter() {
        let all = [Ok, Drift, BadInput, Unavailable, Interrupted];
        for a in all {
            for b in all {
                assert_eq!(a.and(b), b.and(a), "{a:?} and {b:?}");
            }
        }
    }
}
