//! Retrying transient registry failures with capped, jittered backoff.

use std::future::Future;
use std::time::Duration;

use crate::ResolveError;

/// How transient failures (429, 5xx, resets, timeouts) are retried.
///
/// `oci-client` has no retry policy of its own, so every call the resolver
/// makes goes through [`RetryPolicy::run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Delay before the first retry; doubled for each later one.
    pub base_delay: Duration,
    /// Upper bound for one delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Runs `call` until it succeeds, fails permanently, or attempts run out.
    pub(crate) async fn run<T, F, Fut>(&self, what: &str, mut call: F) -> Result<T, ResolveError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ResolveError>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Err(err) if err.is_transient() && attempt < self.attempts.max(1) => {
                    let delay = self.delay(attempt);
                    tracing::debug!(%what, attempt, ?delay, error = %err, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Exponential backoff with "full jitter" in the upper half, so many
    /// clients that failed together do not retry together.
    fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << (attempt - 1).min(16))
            .min(self.max_delay);
        let half = exp / 2;
        half + half.mul_f64(jitter())
    }
}

/// A number in [0, 1) that differs between calls and processes; good
/// enough to spread retries, not for anything secret.
fn jitter() -> f64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_capped_and_grow() {
        let p = RetryPolicy {
            attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let d1 = p.delay(1);
        assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
        let d9 = p.delay(9);
        assert!(d9 >= Duration::from_millis(500) && d9 <= Duration::from_secs(1));
    }
}
