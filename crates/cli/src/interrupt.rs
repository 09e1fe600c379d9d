//! Ctrl-C, SIGTERM and SIGHUP while `images` edits a project: stop at once
//! during resolution, never in the middle of a write.
//!
//! Left to their default action these signals kill the process wherever it
//! is. That is already safe for the lock (it is written last, through a
//! temporary file and a rename), but a signal landing inside that write
//! would leave the temporary `.images.lock.<pid>.<n>.tmp` behind. So a
//! command that writes calls [`catch_signals`] as it starts: from then on
//! the three signals are only recorded, and acted on where it is safe:
//! while waiting for the project lock ([`check`]) and during resolution. [`block_on`]
//! acts on one as soon as it is recorded (or if it already was), ending the
//! run with 128 + the signal's number (130, 143, 129, as a shell reports
//! it) and a message saying what was left alone; once resolution is over a
//! signal is no longer acted on, so the write (milliseconds) always
//! completes and cleans up after itself. SIGKILL cannot be caught: killed
//! mid-write, the old lock stays in place and a temporary file may be
//! left, which the next write ignores (its name has another pid) and which
//! is safe to delete.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::exit::{Exit, Failure};

/// The last of SIGINT, SIGTERM or SIGHUP received, 0 for none.
static RECEIVED: OnceLock<Arc<AtomicUsize>> = OnceLock::new();

/// How often [`block_on`] looks for a recorded signal.
const POLL: Duration = Duration::from_millis(20);

/// From now on SIGINT, SIGTERM and SIGHUP are recorded instead of killing
/// the process. Idempotent. A signal that cannot be caught (no signal
/// support) keeps its default action.
pub fn catch_signals() -> &'static AtomicUsize {
    RECEIVED.get_or_init(|| {
        let received = Arc::new(AtomicUsize::new(0));
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            // Only a forbidden signal (not these) or an OS refusal fails.
            let _ = signal_hook::flag::register_usize(
                signal,
                Arc::clone(&received),
                usize::try_from(signal).unwrap_or_default(),
            );
        }
        received
    })
}

/// The exit code and message word for a recorded signal.
fn stopped_by(signal: usize) -> Option<(Exit, &'static str)> {
    let signal = i32::try_from(signal).ok()?;
    match signal {
        SIGINT => Some((Exit::Interrupted, "interrupted")),
        SIGTERM => Some((Exit::Terminated, "terminated")),
        SIGHUP => Some((Exit::HungUp, "hung up")),
        _ => None,
    }
}

/// A [`Failure`] with the signal's exit code if SIGINT, SIGTERM or SIGHUP
/// has been recorded; `what` says what was left alone.
pub fn check(what: &str) -> Result<(), Failure> {
    match stopped_by(catch_signals().load(Ordering::SeqCst)) {
        Some((exit, word)) => Err(Failure::new(exit, format!("{word}; {what}"))),
        None => Ok(()),
    }
}

/// Runs `work` on `runtime`, or stops with the signal's exit code when
/// SIGINT, SIGTERM or SIGHUP comes first (or came before); `what` says
/// what was left alone, for the message.
pub fn block_on<F: Future>(
    runtime: &tokio::runtime::Runtime,
    work: F,
    what: &str,
) -> Result<F::Output, Failure> {
    let received = catch_signals();
    runtime.block_on(async {
        let stopped = async {
            loop {
                if let Some(stop) = stopped_by(received.load(Ordering::SeqCst)) {
                    return stop;
                }
                tokio::time::sleep(POLL).await;
            }
        };
        tokio::select! {
            // The signal first, so one that arrived while the work was
            // finishing still counts as an interruption.
            biased;
            (exit, word) = stopped => Err(Failure::new(exit, format!("{word}; {what}"))),
            output = work => Ok(output),
        }
    })
}
