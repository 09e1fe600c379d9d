//! Mutexes shared with connection threads.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, ignoring poisoning: a panicking connection thread leaves
/// logs and settings in a usable state, and a test should report its own
/// assertion, not a poisoned lock.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
