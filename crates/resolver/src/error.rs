//! The errors a resolution can end in, and how callers should treat them.

use std::time::Duration;

/// Why a reference could not be resolved.
///
/// Messages never contain credentials: they name the registry and the
/// reference, never the `Authorization` material used to reach them. They
/// say what happened, not what to do about it: the binary, which knows its
/// files and commands, adds the `hint:` lines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The registry says the tag or digest does not exist.
    #[error("`{reference}` was not found on the registry")]
    NotFound {
        /// The reference asked for.
        reference: String,
    },
    /// The body the registry sent does not hash to the digest it was
    /// asked for or the digest the registry itself named.
    #[error("the registry's answer for `{reference}` was tampered with: the manifest body hashes to `{actual}`, but `{expected}` was named")]
    Tampered {
        /// The reference asked for.
        reference: String,
        /// The digest named by the request or by the registry's header.
        expected: String,
        /// The digest of the bytes actually received.
        actual: String,
    },
    /// Docker schema 1 manifests have no stable content digest.
    #[error("`{reference}` is a Docker schema 1 manifest, which cannot be pinned by digest")]
    Schema1 {
        /// The reference asked for.
        reference: String,
    },
    /// The manifest is valid JSON but not one of the four pinnable kinds.
    #[error("`{reference}` has unsupported media type `{media_type}`")]
    UnsupportedMediaType {
        /// The reference asked for.
        reference: String,
        /// The media type found.
        media_type: String,
    },
    /// The body is not a manifest at all (HTML, garbage, truncated JSON).
    #[error("the registry's answer for `{reference}` is not a manifest: {reason}")]
    InvalidManifest {
        /// The reference asked for.
        reference: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The manifest exceeds [`crate::MAX_MANIFEST_BYTES`].
    #[error("the manifest for `{reference}` is {size} bytes, over the {limit} byte limit")]
    TooLarge {
        /// The reference asked for.
        reference: String,
        /// Size received.
        size: usize,
        /// The cap.
        limit: usize,
    },
    /// A platform listed in `platforms` is not in the image index.
    #[error("`{reference}` has no manifest for platform `{platform}` (it has: {available})")]
    PlatformMissing {
        /// The reference asked for.
        reference: String,
        /// The platform asked for.
        platform: String,
        /// The platforms the index lists.
        available: String,
    },
    /// A platform listed in `platforms` is not among the index entries that
    /// could be read, and some entries had platforms that are not valid OCI
    /// platforms: the registry's answer cannot be used.
    #[error("`{reference}` has no readable manifest for platform `{platform}`: the index lists entries whose platform is not a valid OCI platform ({skipped})")]
    UnreadablePlatforms {
        /// The reference asked for.
        reference: String,
        /// The platform asked for.
        platform: String,
        /// The entries that were left out, described and escaped.
        skipped: String,
    },
    /// Credentials missing or refused.
    #[error("{}", unauthorized_message(.registry, .credentials.as_deref()))]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// Where the credentials that were refused came from (a file or a
        /// credential helper), `None` when there were none. Never the secret.
        credentials: Option<String>,
    },
    /// The registry's TLS certificate is not trusted, or not valid for its name.
    #[error("the TLS certificate of registry `{registry}` is not trusted ({reason})")]
    UntrustedCertificate {
        /// The registry host.
        registry: String,
        /// What the TLS library said.
        reason: String,
    },
    /// Too many requests, answered with 429 until the retries ran out.
    #[error("registry `{registry}` kept answering 429 Too Many Requests")]
    RateLimited {
        /// The registry host.
        registry: String,
        /// How long the registry asked us to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },
    /// The registry asked to be asked again later than this run can wait.
    #[error("registry `{registry}` answered {status} and asked to be asked again in {}s (`Retry-After`), longer than the {}s this run waits", .asked.as_secs(), .limit.as_secs())]
    WaitTooLong {
        /// The registry host.
        registry: String,
        /// The status that came with `Retry-After` (429 or 503).
        status: u16,
        /// What `Retry-After` asked for.
        asked: Duration,
        /// The longest wait [`crate::RetryPolicy::max_retry_after`] allows.
        limit: Duration,
    },
    /// The registry's answer would have us give up a protection: a
    /// redirect from HTTPS to plain HTTP, a plain-HTTP token realm for an
    /// HTTPS registry.
    #[error("refused an answer of registry `{registry}`: {reason}")]
    Insecure {
        /// The registry host.
        registry: String,
        /// What was asked of us, and why it is refused.
        reason: String,
    },
    /// Connection refused, reset, DNS or TLS failure.
    #[error("cannot reach registry `{registry}`: {reason}")]
    Unreachable {
        /// The registry host.
        registry: String,
        /// The transport's explanation.
        reason: String,
    },
    /// No answer within the per-request timeout.
    #[error("registry `{registry}` did not answer within {}s", after.as_secs_f64())]
    Timeout {
        /// The registry host.
        registry: String,
        /// The timeout that expired.
        after: Duration,
    },
    /// Any other error status from the registry.
    #[error("registry `{registry}` answered with an error: {message}")]
    Registry {
        /// The registry host.
        registry: String,
        /// HTTP status when known.
        status: Option<u16>,
        /// The registry's message.
        message: String,
        /// How long the registry asked us to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },
    /// Credentials could not be read (malformed config file, failing helper).
    #[error("cannot read registry credentials: {reason}")]
    Credentials {
        /// What went wrong; never contains the secret.
        reason: String,
    },
    /// The resolver could not be configured for this registry (bad CA file).
    #[error("cannot configure a client for registry `{registry}`: {reason}")]
    Config {
        /// The registry host.
        registry: String,
        /// What went wrong.
        reason: String,
    },
}

/// How a caller should treat an error: the exit code of a CLI follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The registry answered and the answer is a finding about the image
    /// (missing, tampered, unpinnable).
    Finding,
    /// The image could not be checked (network, auth, registry failure).
    Unavailable,
}

impl ResolveError {
    /// Whether the error is a finding about the image or an inability to check.
    pub fn class(&self) -> ErrorClass {
        match self {
            ResolveError::NotFound { .. }
            | ResolveError::Tampered { .. }
            | ResolveError::Schema1 { .. }
            | ResolveError::UnsupportedMediaType { .. }
            | ResolveError::PlatformMissing { .. } => ErrorClass::Finding,
            // What a registry answered that cannot be used says nothing
            // about the user's files: the image could not be checked.
            ResolveError::InvalidManifest { .. }
            | ResolveError::TooLarge { .. }
            | ResolveError::WaitTooLong { .. }
            | ResolveError::Insecure { .. }
            | ResolveError::Unauthorized { .. }
            | ResolveError::UnreadablePlatforms { .. }
            | ResolveError::UntrustedCertificate { .. }
            | ResolveError::RateLimited { .. }
            | ResolveError::Unreachable { .. }
            | ResolveError::Timeout { .. }
            | ResolveError::Registry { .. }
            | ResolveError::Credentials { .. }
            | ResolveError::Config { .. } => ErrorClass::Unavailable,
        }
    }

    /// Whether trying again later may succeed: rate limits, 5xx, resets, timeouts.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            ResolveError::RateLimited { .. }
            | ResolveError::Unreachable { .. }
            | ResolveError::Timeout { .. } => true,
            ResolveError::Registry { status, .. } => {
                matches!(status, Some(s) if *s >= 500 || *s == 429 || *s == 408)
            }
            _ => false,
        }
    }

    /// Whether the registry asked us to slow down (429 Too Many Requests).
    pub(crate) fn is_rate_limit(&self) -> bool {
        matches!(
            self,
            ResolveError::RateLimited { .. }
                | ResolveError::Registry {
                    status: Some(429),
                    ..
                }
        )
    }

    /// How long the registry asked us to wait before asking again.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            ResolveError::RateLimited { retry_after, .. }
            | ResolveError::Registry { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The registry an error is about, when it names one.
    pub(crate) fn registry(&self) -> Option<&str> {
        match self {
            ResolveError::RateLimited { registry, .. }
            | ResolveError::Registry { registry, .. }
            | ResolveError::Unreachable { registry, .. }
            | ResolveError::Timeout { registry, .. } => Some(registry),
            _ => None,
        }
    }

    /// The status of the answer that carried `Retry-After`, for messages.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            ResolveError::RateLimited { .. } => Some(429),
            ResolveError::Registry { status, .. } => *status,
            _ => None,
        }
    }

    /// Classifies a transport error of `reqwest` by its type and source
    /// chain: a timeout, a certificate rustls refused, a plain-HTTP answer
    /// to a TLS hello, or an unreachable registry.
    pub(crate) fn from_transport(err: &reqwest::Error, registry: &str, timeout: Duration) -> Self {
        let registry = registry.to_string();
        if err.is_timeout() {
            return ResolveError::Timeout {
                registry,
                after: timeout,
            };
        }
        match rustls_error(err) {
            // Not transient, and not "unreachable": the registry answered,
            // with a certificate we must not accept.
            Some(tls @ rustls::Error::InvalidCertificate(_)) => {
                ResolveError::UntrustedCertificate {
                    registry,
                    reason: tls.to_string(),
                }
            }
            // rustls got a plain-HTTP answer to its hello. Not retried and
            // never retried over plain HTTP.
            Some(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)) => {
                ResolveError::Registry {
                    registry,
                    status: None,
                    message: "it did not answer TLS on this port; if it serves plain HTTP, set `insecure = true` in its `[registries]` table".into(),
                    retry_after: None,
                }
            }
            _ => ResolveError::Unreachable {
                registry,
                reason: error_chain(err),
            },
        }
    }
}

/// The rustls error somewhere in `err`'s source chain. rustls reaches
/// reqwest inside an `io::Error`, whose `source()` skips the error it
/// wraps, so each `io::Error` is opened by hand.
fn rustls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut source = Some(err);
    while let Some(cause) = source {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(tls) = rustls_error(inner) {
                return Some(tls);
            }
        }
        source = cause.source();
    }
    None
}

/// The message for a 401/403, which depends on whether credentials were sent.
fn unauthorized_message(registry: &str, credentials: Option<&str>) -> String {
    match credentials {
        None => format!(
            "registry `{registry}` requires authentication and no credentials were found for it"
        ),
        Some(source) => {
            format!("registry `{registry}` refused the credentials from {source} (401/403)")
        }
    }
}

/// The first line of a registry's message, at most 200 bytes.
pub(crate) fn first_line(s: &str) -> &str {
    let line = s.lines().next().unwrap_or("").trim();
    if line.len() > 200 {
        // Cut on a char boundary: registries may send anything.
        let mut end = 200;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        &line[..end]
    } else {
        line
    }
}

/// A transport error with its causes, which is where reqwest keeps the
/// useful part ("connection refused", "invalid peer certificate").
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
