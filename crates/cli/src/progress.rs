//! A progress bar on stderr for long registry work (`lock`, `verify`).
//!
//! Only drawn for more than [`THRESHOLD`] images, only when stderr is a
//! terminal, and never with `--quiet`: CI logs and pipes get no escape
//! codes, and a quick run does not flash a bar.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Fewer images than this finish before a bar would be worth reading.
pub const THRESHOLD: usize = 5;

/// A bar counting finished images; hidden when it should not be drawn.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `total` images labelled `verb` ("Resolving", "Verifying").
    pub fn new(total: usize, verb: &str, quiet: bool) -> Progress {
        let shown = total > THRESHOLD && !quiet && std::io::stderr().is_terminal();
        let bar = if shown {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            // The template is a constant; should indicatif ever refuse it,
            // fall back to its default look rather than fail the command.
            if let Ok(style) =
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(verb.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress { bar }
    }

    /// One more image finished; the callback handed to the resolver.
    pub fn tick(&self) {
        self.bar.inc(1);
    }

    /// Removes the bar before the report is printed.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // An early return (an error) must not leave a half-drawn bar.
        self.bar.finish_and_clear();
    }
}
