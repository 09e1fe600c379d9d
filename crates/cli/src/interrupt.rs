//! Ctrl-C while `images lock` resolves: stop at once, leave the lock alone.
//!
//! Without this, SIGINT kills the process wherever it is. That is already
//! safe for the lock (it is written last, through a temporary file and a
//! rename), but a SIGINT landing inside that write would leave the
//! temporary `.images.lock.<pid>.<n>.tmp` behind. Listening for Ctrl-C
//! takes over SIGINT for the rest of the process: during resolution it
//! ends the run with exit 130 and a message saying the lock was not
//! changed; once resolution is over, a Ctrl-C is no longer acted on, so
//! the write (milliseconds) always completes and cleans up after itself.
//! SIGKILL cannot be caught: killed mid-write, the old lock stays in place
//! and a temporary file may be left, which the next write ignores (its
//! name has another pid) and which is safe to delete.

use std::future::Future;

use crate::exit::{Exit, Failure};

/// Runs `work` on `runtime`, or stops with [`Exit::Interrupted`] when
/// Ctrl-C comes first; `what` says what was left alone, for the message.
pub fn block_on<F: Future>(
    runtime: &tokio::runtime::Runtime,
    work: F,
    what: &str,
) -> Result<F::Output, Failure> {
    runtime.block_on(async {
        let interrupted = async {
            // Could not listen (no signal support): never interrupt.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            // Ctrl-C first, so a signal that arrived while the work was
            // finishing still counts as an interruption.
            biased;
            () = interrupted => Err(Failure::new(Exit::Interrupted, format!("interrupted; {what}"))),
            output = work => Ok(output),
        }
    })
}
