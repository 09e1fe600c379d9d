//! What goes where: data on stdout, messages and progress on stderr,
//! colour only on a terminal and never with `NO_COLOR`.
//!
//! `--color auto` follows the conventions clap and cargo follow (through
//! `anstream`): `NO_COLOR` turns colour off, then `CLICOLOR_FORCE` on,
//! `CLICOLOR=0` or `TERM=dumb` off, else colour on a terminal only.
//! `--color always` and `--color never` win over all of them.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use anstyle::{AnsiColor, Style};

use crate::args::ColorChoice;

static COLOR_STDERR: OnceLock<bool> = OnceLock::new();
static COLOR_STDOUT: OnceLock<bool> = OnceLock::new();
/// Set once a write to stdout failed: nothing more is sent there.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// Why stdout failed, unless the reader hung up (a closed pipe).
static STDOUT_ERROR: OnceLock<String> = OnceLock::new();

/// Decides colour once for the whole run, for each stream.
pub fn init_color(choice: ColorChoice) {
    fn auto(stream: &impl anstream::stream::RawStream) -> bool {
        anstream::AutoStream::choice(stream) != anstream::ColorChoice::Never
    }
    let (stderr, stdout) = match choice {
        ColorChoice::Always => (true, true),
        ColorChoice::Never => (false, false),
        ColorChoice::Auto => (auto(&std::io::stderr()), auto(&std::io::stdout())),
    };
    let _ = COLOR_STDERR.set(stderr);
    let _ = COLOR_STDOUT.set(stdout);
}

/// Logs from the libraries' `tracing` events go to stderr; `-v` for
/// debug, `-vv` for trace. `RUST_LOG` still wins when set.
pub fn init_tracing(verbose: u8, quiet: bool) {
    // Without -v only our own crates speak: a library's log line (rustls
    // logs a rejected certificate at ERROR) would come before, and repeat
    // less clearly, the one error message the command prints itself.
    let level = match (quiet, verbose) {
        (true, _) => "images=error,images_resolver=error,images_lockfile=error",
        (false, 0) => "images=warn,images_resolver=warn,images_lockfile=warn",
        (false, 1) => "images=debug,images_resolver=debug,images_lockfile=debug,warn",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LogLine)
        .with_ansi(false)
        .without_time()
        .try_init();
}

/// How many characters of one log event are shown.
const MAX_LOG_CHARS: usize = 4096;

/// The sink of log events: stderr, each event one escaped line. A field
/// may hold registry text (the error a retry is about), and `tracing`
/// escapes ESC but not `\r` or `\n`, which could overwrite a line or
/// start a GitHub workflow command of their own.
struct LogLine;

impl Write for LogLine {
    /// `tracing` writes each event whole, ending in a newline.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let event = text.strip_suffix('\n').unwrap_or(&text);
        write_stderr(&format!(
            "{}\n",
            crate::untrusted::escape_at_most(event, MAX_LOG_CHARS)
        ));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn paint(on: bool, style: Style, text: &str) -> String {
    if on {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

fn color(color: AnsiColor) -> Style {
    Style::new().fg_color(Some(color.into()))
}

fn stderr_color() -> bool {
    *COLOR_STDERR.get().unwrap_or(&false)
}

fn stdout_color() -> bool {
    *COLOR_STDOUT.get().unwrap_or(&false)
}

/// `error:` in bold red on a colour terminal.
pub fn label_error() -> String {
    paint(stderr_color(), color(AnsiColor::Red).bold(), "error:")
}

/// `warning:` in bold yellow on a colour terminal.
pub fn label_warning() -> String {
    paint(stderr_color(), color(AnsiColor::Yellow).bold(), "warning:")
}

/// `hint:` in bold cyan on a colour terminal.
pub fn label_hint() -> String {
    paint(stderr_color(), color(AnsiColor::Cyan).bold(), "hint:")
}

/// Green text on stdout when colour is on (for "ok" statuses).
pub fn green(text: &str) -> String {
    paint(stdout_color(), color(AnsiColor::Green), text)
}

/// Red text on stdout when colour is on (for failing statuses).
pub fn red(text: &str) -> String {
    paint(stdout_color(), color(AnsiColor::Red), text)
}

/// Yellow text on stdout when colour is on (for warnings).
pub fn yellow(text: &str) -> String {
    paint(stdout_color(), color(AnsiColor::Yellow), text)
}

/// Writes to stderr, ignoring a closed pipe.
pub fn write_stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Writes to stdout. When that fails the rest of the report is dropped and
/// the command carries on to its own exit code: a closed pipe (`images
/// verify | head`) is quiet, as in ripgrep, but never turns a finding into
/// success; any other error is reported by [`crate::exit::finish`]
/// (through [`stdout_error`]).
pub fn write_stdout(text: &str) {
    if STDOUT_CLOSED.load(Ordering::SeqCst) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        STDOUT_CLOSED.store(true, Ordering::SeqCst);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            let _ = STDOUT_ERROR.set(e.to_string());
        }
    }
}

/// Why the report could not be written to stdout, if it could not and the
/// reader did not simply hang up.
pub fn stdout_error() -> Option<&'static str> {
    STDOUT_ERROR.get().map(String::as_str)
}

/// Decides what each command prints, from its flags. A command with
/// formats beyond text and JSON matches on its own `--format` for them.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// `--format json`: the report is one JSON document on stdout.
    pub json: bool,
    pub quiet: bool,
}

impl Printer {
    /// A progress bar on stderr for `total` registry requests, labelled
    /// `verb`; drawn only for long runs on a terminal, never under `--quiet`.
    pub fn progress(&self, total: usize, verb: &str) -> crate::progress::Progress {
        crate::progress::Progress::new(total, verb, self.quiet)
    }

    /// A status message for people (stderr), unless `--quiet`.
    pub fn status(&self, text: &str) {
        if !self.quiet {
            write_stderr(&format!("{text}\n"));
        }
    }

    /// A `warning:` line (stderr), unless `--quiet`.
    pub fn warning(&self, text: &str) {
        if !self.quiet {
            write_stderr(&format!("{} {text}\n", label_warning()));
        }
    }

    /// An error line (stderr) that does not end the command.
    pub fn error(&self, text: &str) {
        write_stderr(&format!("{} {text}\n", label_error()));
    }

    /// A `hint:` line (stderr) under an error: what to do about it.
    pub fn hint(&self, text: &str) {
        write_stderr(&format!("{} {text}\n", label_hint()));
    }

    /// The command's report as JSON on stdout (with `--format json`, or a
    /// SARIF log): a JSON document (docs/json.md), keys sorted at every
    /// level whatever the order of the struct's fields, so a document's
    /// text is stable across releases that add a field.
    pub fn json(&self, document: &impl serde::Serialize) {
        let sorted = serde_json::to_value(document).unwrap_or(serde_json::Value::Null);
        let text = serde_json::to_string_pretty(&sorted).unwrap_or_else(|_| "null".to_string());
        write_stdout(&format!("{text}\n"));
    }

    /// Whether the report is JSON.
    pub fn is_json(&self) -> bool {
        self.json
    }
}
