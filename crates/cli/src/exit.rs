//! The one place where outcomes become exit codes and errors become text.

use std::fmt::Write as _;
use std::process::ExitCode;

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
    /// Stopped by Ctrl-C (128 + SIGINT, as a shell reports it).
    Interrupted = 130,
}

/// A command that could not do its job: what to print and how to exit.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
    pub causes: Vec<String>,
    pub hint: Option<String>,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            exit,
            message: message.into(),
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

    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
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
