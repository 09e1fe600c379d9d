//! Retrying transient registry failures with capped, jittered backoff.

use std::future::Future;
use std::time::Duration;

use crate::ResolveError;

/// How transient failures (429, 5xx, resets, timeouts) are retried.
///
/// Every request the resolver makes goes through `RetryPolicy::run`. A
/// call gives up after `attempts` tries, so the time one reference can take
/// is bounded by `attempts` request timeouts plus the delays between them.
///
/// A registry's `Retry-After` (seconds or an HTTP date) is honoured: the
/// next try comes no sooner than it asks. A registry that asks for longer
/// than `max_retry_after` (Docker Hub's pull limit lasts hours) ends the
/// run at once with [`ResolveError::WaitTooLong`], which says how long it
/// asked for: waiting that out in CI is not a plan. Without the header, a
/// 429 backs off from [`RetryPolicy::rate_limit_delay`], longer than other
/// transient failures: registries that throttle in bursts (GHCR, ECR,
/// Quay) ask for about a second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Delay before the first retry; doubled for each later one.
    pub base_delay: Duration,
    /// Upper bound for one delay.
    pub max_delay: Duration,
    /// Delay before the first retry of a 429 Too Many Requests; doubled
    /// for each later one, capped by `max_delay`. Stands in for the
    /// `Retry-After` a registry did not send.
    pub rate_limit_delay: Duration,
    /// The longest `Retry-After` waited for; a longer one is an error.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            rate_limit_delay: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(30),
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
                    let delay = if let Some(asked) = err.retry_after() {
                        if asked > self.max_retry_after {
                            return Err(ResolveError::WaitTooLong {
                                registry: err.registry().unwrap_or_default().to_string(),
                                status: err.status().unwrap_or(429),
                                asked,
                                limit: self.max_retry_after,
                            });
                        }
                        asked
                    } else if err.is_rate_limit() {
                        self.backoff(self.rate_limit_delay, attempt)
                    } else {
                        self.delay(attempt)
                    };
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
        self.backoff(self.base_delay, attempt)
    }

    /// `base` doubled per earlier retry, capped, jittered in the upper half.
    fn backoff(&self, base: Duration, attempt: u32) -> Duration {
        let exp = base
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
            rate_limit_delay: Duration::from_millis(400),
            max_retry_after: Duration::from_secs(30),
        };
        let d1 = p.delay(1);
        assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
        let d9 = p.delay(9);
        assert!(d9 >= Duration::from_millis(500) && d9 <= Duration::from_secs(1));
    }

    #[test]
    fn rate_limits_back_off_from_a_longer_first_delay_under_the_same_cap() {
        let p = RetryPolicy::default();
        let first = p.backoff(p.rate_limit_delay, 1);
        assert!(first >= p.rate_limit_delay / 2 && first <= p.rate_limit_delay);
        assert!(first > p.delay(1));
        let late = p.backoff(p.rate_limit_delay, 12);
        assert!(late <= p.max_delay);
    }

    #[test]
    fn retries_of_a_rate_limit_wait_longer_than_other_retries() {
        let p = RetryPolicy {
            attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_secs(5),
            rate_limit_delay: Duration::from_millis(300),
            max_retry_after: Duration::from_secs(30),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let timed = |err: ResolveError| {
            let started = std::time::Instant::now();
            let result: Result<(), ResolveError> =
                runtime.block_on(p.run("r", || std::future::ready(Err(err.clone()))));
            assert!(result.is_err());
            started.elapsed()
        };
        let limited = timed(ResolveError::RateLimited {
            registry: "r".into(),
            retry_after: None,
        });
        let unavailable = timed(ResolveError::Registry {
            registry: "r".into(),
            status: Some(503),
            message: "busy".into(),
            retry_after: None,
        });
        assert!(limited >= Duration::from_millis(150), "{limited:?}");
        assert!(unavailable < Duration::from_millis(100), "{unavailable:?}");
    }

    #[test]
    fn retry_after_is_waited_for_and_a_longer_wait_than_allowed_is_an_error() {
        let p = RetryPolicy {
            attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            rate_limit_delay: Duration::from_millis(1),
            max_retry_after: Duration::from_secs(2),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let limited = |secs| ResolveError::RateLimited {
            registry: "r".into(),
            retry_after: Some(Duration::from_secs(secs)),
        };
        let started = std::time::Instant::now();
        let result: Result<(), ResolveError> =
            runtime.block_on(p.run("r", || std::future::ready(Err(limited(1)))));
        assert!(matches!(result, Err(ResolveError::RateLimited { .. })));
        assert!(started.elapsed() >= Duration::from_secs(1));
        let result: Result<(), ResolveError> =
            runtime.block_on(p.run("r", || std::future::ready(Err(limited(3)))));
        let err = result.expect_err("too long a wait");
        assert!(matches!(err, ResolveError::WaitTooLong { .. }), "{err:?}");
        assert!(err.to_string().contains("in 3s"), "{err}");
    }
}
