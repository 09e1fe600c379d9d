//! The errors a resolution can end in, and how callers should treat them.

use std::time::Duration;

use oci_client::errors::{DigestError, OciDistributionError, OciErrorCode};

/// Why a reference could not be resolved.
///
/// Messages never contain credentials: they name the registry and the
/// reference, never the `Authorization` material used to reach them.
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
    #[error("`{reference}` is a Docker schema 1 manifest, which cannot be pinned by digest; push it again with a current Docker or buildx")]
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
    #[error("the TLS certificate of registry `{registry}` is not trusted ({reason}); if it uses a private CA, name the CA in images.toml with `[registries.\"{registry}\"] ca = \"path/to/ca.pem\"` or set `SSL_CERT_FILE`")]
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
            | ResolveError::InvalidManifest { .. }
            | ResolveError::TooLarge { .. }
            | ResolveError::PlatformMissing { .. } => ErrorClass::Finding,
            ResolveError::Unauthorized { .. }
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

    /// Translates an `oci-client` error for `reference` on `registry`.
    pub(crate) fn from_oci(err: OciDistributionError, registry: &str, reference: &str) -> Self {
        let registry = registry.to_string();
        let reference = reference.to_string();
        match err {
            OciDistributionError::DigestError(DigestError::VerificationError {
                expected,
                actual,
            }) => ResolveError::Tampered {
                reference,
                expected,
                actual,
            },
            OciDistributionError::DigestError(other) => ResolveError::InvalidManifest {
                reference,
                reason: other.to_string(),
            },
            OciDistributionError::RegistryError { envelope, .. } => {
                let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
                let message = envelope
                    .errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
                if codes.iter().any(|c| {
                    matches!(
                        c,
                        OciErrorCode::ManifestUnknown
                            | OciErrorCode::NameUnknown
                            | OciErrorCode::NotFound
                    )
                }) {
                    ResolveError::NotFound { reference }
                } else if codes.contains(&&OciErrorCode::Toomanyrequests) {
                    ResolveError::RateLimited { registry }
                } else if codes
                    .iter()
                    .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
                {
                    ResolveError::Unauthorized {
                        registry,
                        credentials: None,
                    }
                } else {
                    ResolveError::Registry {
                        registry,
                        status: None,
                        message,
                    }
                }
            }
            OciDistributionError::ServerError { code, message, .. } => match code {
                404 => ResolveError::NotFound { reference },
                401 | 403 => ResolveError::Unauthorized {
                    registry,
                    credentials: None,
                },
                429 => ResolveError::RateLimited { registry },
                _ => ResolveError::Registry {
                    registry,
                    status: Some(code),
                    message: format!("HTTP {code}: {}", first_line(&message)),
                },
            },
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => ResolveError::Unauthorized {
                registry,
                credentials: None,
            },
            OciDistributionError::RequestError(e) => {
                if e.is_timeout() {
                    ResolveError::Timeout {
                        registry,
                        after: Duration::ZERO,
                    }
                } else if let Some(reason) = certificate_problem(&e) {
                    // Not transient, and not "unreachable": the registry
                    // answered, with a certificate we must not accept.
                    ResolveError::UntrustedCertificate { registry, reason }
                } else if error_chain(&e).contains("InvalidContentType") {
                    // rustls got a plain-HTTP answer to its hello. Not
                    // retried and never retried over plain HTTP.
                    ResolveError::Registry {
                        registry,
                        status: None,
                        message: "it did not answer TLS on this port; if it serves plain HTTP, set `insecure = true` in its `[registries]` table".into(),
                    }
                } else {
                    ResolveError::Unreachable {
                        registry,
                        reason: error_chain(&e),
                    }
                }
            }
            OciDistributionError::UnsupportedSchemaVersionError(1) => {
                ResolveError::Schema1 { reference }
            }
            OciDistributionError::UnsupportedMediaTypeError(media_type) => {
                ResolveError::UnsupportedMediaType {
                    reference,
                    media_type,
                }
            }
            OciDistributionError::VersionedParsingError(reason)
            | OciDistributionError::ManifestParsingError(reason) => {
                ResolveError::InvalidManifest { reference, reason }
            }
            other => ResolveError::Registry {
                registry,
                status: None,
                message: other.to_string(),
            },
        }
    }
}

/// The message for a 401/403, which depends on whether credentials were sent.
fn unauthorized_message(registry: &str, credentials: Option<&str>) -> String {
    match credentials {
        None => format!(
            "registry `{registry}` requires authentication and no credentials were found for it: log in with `docker login {registry}` (images reads Docker's config.json and podman's auth.json)"
        ),
        Some(source) => format!(
            "registry `{registry}` refused the credentials from {source} (401/403): log in again with `docker login {registry}`, or check that the account may pull this image"
        ),
    }
}

/// rustls's verdict on the server's certificate, when that is why the
/// request failed (reqwest keeps it in the source chain).
fn certificate_problem(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source = Some(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if let Some(at) = text.find("invalid peer certificate") {
            return Some(text[at..].to_string());
        }
        source = cause.source();
    }
    None
}

fn first_line(s: &str) -> &str {
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
