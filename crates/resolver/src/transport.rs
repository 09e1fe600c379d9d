//! The distribution protocol spoken to one registry over `reqwest`: the
//! `/v2/` ping (once), authorization (a token per scope, one request for
//! it however many wait), redirects (a few hops, never to plain HTTP from
//! HTTPS, credentials only to the registry itself), bodies read in a
//! stream and cut at a cap, and answers classified by status.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use tokio::sync::OnceCell;

use crate::auth::Credential;
use crate::challenge::{self, Access};
use crate::client::is_loopback;
use crate::error::first_line;
use crate::token::{Token, TokenRequest};
use crate::token_sharing::SharedToken;
use crate::ResolveError;

/// Redirects followed for one request before giving up.
const MAX_REDIRECTS: usize = 5;

/// The most of an error answer read, for its message.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// What one request to the registry is.
pub(crate) struct Request<'a> {
    pub method: Method,
    /// Path and query below the registry, e.g. `/v2/acme/api/manifests/v1`.
    pub path: &'a str,
    /// The repository whose `pull` scope authorizes it.
    pub repository: &'a str,
    /// What the request is about (a reference), for messages.
    pub about: &'a str,
    pub accept: Option<&'a str>,
    /// The largest body accepted.
    pub cap: usize,
}

/// A successful answer: its headers and (for GET) its body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The URL that answered, after redirects: what a relative `Link`
    /// header is relative to.
    pub url: Url,
}

/// Everything known about talking to one registry; shared by all requests
/// to it.
pub(crate) struct Registry {
    /// The registry as written in references (`host:port`).
    name: String,
    /// `https://host:port` or `http://host:port`.
    base: Url,
    http: reqwest::Client,
    credential: Credential,
    /// Where `credential` came from, for messages; `None` when anonymous.
    source: Option<String>,
    timeout: Duration,
    /// Registries (`host:port`) the user allowed plain HTTP for.
    insecure: Arc<Vec<String>>,
    /// What `GET /v2/` said, asked once.
    access: OnceCell<Access>,
    /// Bearer tokens by scope; one fetch per scope however many wait.
    tokens: Mutex<HashMap<String, Arc<OnceCell<Token>>>>,
    /// Whether one token serves every repository here.
    shared: SharedToken,
    /// The per-registry bound on requests in flight.
    in_flight: tokio::sync::Semaphore,
}

/// The authorization one request was sent with, to tell it from a later one.
struct Authorization {
    header: Option<String>,
    /// The token cell it came from, when it is a bearer token.
    cell: Option<Arc<OnceCell<Token>>>,
}

/// How one registry is reached.
pub(crate) struct Endpoint {
    pub name: String,
    pub base: Url,
    pub http: reqwest::Client,
    pub credential: Credential,
    pub source: Option<String>,
    pub timeout: Duration,
    pub insecure: Arc<Vec<String>>,
    /// How many requests may be in flight to it at once.
    pub in_flight: usize,
}

impl Registry {
    pub(crate) fn new(endpoint: Endpoint) -> Registry {
        Registry {
            name: endpoint.name,
            base: endpoint.base,
            http: endpoint.http,
            credential: endpoint.credential,
            source: endpoint.source,
            timeout: endpoint.timeout,
            insecure: endpoint.insecure,
            access: OnceCell::new(),
            tokens: Mutex::new(HashMap::new()),
            shared: SharedToken::default(),
            in_flight: tokio::sync::Semaphore::new(endpoint.in_flight),
        }
    }

    /// Sends `request` authorized for pulls from its repository. A 401 (a
    /// token revoked, expired early, or for too small a scope) authorizes
    /// once more, by the challenge that came with it, and tries again.
    pub(crate) async fn send(&self, request: &Request<'_>) -> Result<Answer, ResolveError> {
        // Never closed, so acquiring only waits; the permit ends with the request.
        let _permit = self.in_flight.acquire().await.ok();
        let url = self.url(request.path)?;
        let mut authorization = self.authorize(request.repository, None).await?;
        let mut again = false;
        loop {
            let answer = self
                .follow(
                    request.method.clone(),
                    url.clone(),
                    request.accept,
                    authorization.header.as_deref(),
                )
                .await?;
            if answer.status() != StatusCode::UNAUTHORIZED {
                if authorization.cell.is_some() && answer.status().is_success() {
                    self.shared.accepted(request.repository);
                }
                return self.finish(answer, request).await;
            }
            let asked = challenge::from_headers(answer.headers());
            if authorization.cell.is_some() {
                self.shared.refused(request.repository);
            }
            let worth_trying = match &asked {
                Some(Access::Bearer { .. }) => true,
                // Sent without credentials because the ping said nothing.
                Some(Access::Basic) => {
                    authorization.header.is_none()
                        && matches!(self.credential, Credential::Basic { .. })
                }
                _ => authorization.cell.is_some(),
            };
            if again || !worth_trying {
                // Basic credentials refused, or a new token refused too.
                return Err(self.unauthorized());
            }
            again = true;
            self.forget(request.repository, &authorization);
            authorization = self.authorize(request.repository, asked).await?;
        }
    }

    fn unauthorized(&self) -> ResolveError {
        ResolveError::Unauthorized {
            registry: self.name.clone(),
            credentials: self.source.clone(),
        }
    }

    /// The path and query of `url` when it is on this registry (same
    /// scheme, host and port), for following a `Link` header.
    pub(crate) fn own_path(&self, url: &Url) -> Option<String> {
        (url.origin() == self.base.origin()).then(|| match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        })
    }

    fn url(&self, path: &str) -> Result<Url, ResolveError> {
        self.base.join(path).map_err(|e| ResolveError::Config {
            registry: self.name.clone(),
            reason: format!("cannot make a URL of `{path}`: {e}"),
        })
    }

    /// The `Authorization` for pulls from `repository`: none for an open
    /// registry, basic credentials, or a bearer token for the scope.
    /// `asked` is the challenge of a 401 that overrides the ping's.
    async fn authorize(
        &self,
        repository: &str,
        asked: Option<Access>,
    ) -> Result<Authorization, ResolveError> {
        let access = match asked {
            Some(access) => access,
            None => match self.access().await? {
                Some(access) => access.clone(),
                // The ping was not answered usefully: ask without
                // authorization, and a 401 will say what it wants.
                None => Access::Open,
            },
        };
        match access {
            Access::Open => Ok(Authorization {
                header: None,
                cell: None,
            }),
            Access::Basic => Ok(Authorization {
                header: match &self.credential {
                    Credential::Basic { username, password } => Some(format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD
                            .encode(format!("{username}:{password}"))
                    )),
                    _ => None,
                },
                cell: None,
            }),
            Access::Bearer { realm, service } => {
                let scope = format!("repository:{repository}:pull");
                let cell = self.token_cell(&scope);
                let token = cell
                    .get_or_try_init(|| async {
                        if let Some(value) = self.shared.borrow(repository) {
                            return Ok(Token {
                                value,
                                expires: Instant::now() + Duration::from_secs(60),
                            });
                        }
                        let token = self.token(&realm, service.as_deref(), &scope).await?;
                        self.shared.offer(token.value.clone());
                        Ok::<_, ResolveError>(token)
                    })
                    .await?;
                Ok(Authorization {
                    header: Some(format!("Bearer {}", token.value)),
                    cell: Some(Arc::clone(&cell)),
                })
            }
        }
    }

    /// The cell for `scope`'s token: the current one, or a new one when
    /// there is none or its token expired.
    fn token_cell(&self, scope: &str) -> Arc<OnceCell<Token>> {
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let cell = tokens.entry(scope.to_string()).or_default();
        if cell.get().is_some_and(|t| t.expires <= Instant::now()) {
            *cell = Arc::default();
        }
        Arc::clone(cell)
    }

    /// Forgets the token `used` for `repository`, so the next request
    /// authorizes again. Only that one: when several requests are refused
    /// at once, the first to get here starts a new authorization and the
    /// others share it instead of each fetching a token.
    fn forget(&self, repository: &str, used: &Authorization) {
        let Some(used) = &used.cell else { return };
        let scope = format!("repository:{repository}:pull");
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if tokens
            .get(&scope)
            .is_some_and(|current| Arc::ptr_eq(current, used))
        {
            tokens.remove(&scope);
        }
    }

    /// What the registry's `GET /v2/` asks for, asked once per registry.
    ///
    /// The ping saves a 401 per repository; it is not a gate. When it is
    /// answered with anything but success or a challenge (a 429, a 5xx, a
    /// proxy's 404), `None`: the request goes out without authorization and
    /// its own 401 says what it wants, and the next request pings again.
    /// A transport failure is an error: the request would fail the same way.
    async fn access(&self) -> Result<Option<&Access>, ResolveError> {
        if let Some(access) = self.access.get() {
            return Ok(Some(access));
        }
        let pinged = self
            .access
            .get_or_try_init(|| async {
                let url = self.url("/v2/")?;
                let answer = self.follow(Method::GET, url, None, None).await?;
                let status = answer.status();
                let access = if status.is_success() {
                    Access::Open
                } else if status == StatusCode::UNAUTHORIZED {
                    challenge::from_headers(answer.headers()).ok_or_else(|| {
                        ResolveError::Registry {
                            registry: self.name.clone(),
                            status: Some(401),
                            message: "it asks for authentication without a usable `WWW-Authenticate` challenge".into(),
                            retry_after: None,
                        }
                    })?
                } else {
                    return Err(self.status_error(status, answer.headers(), "/v2/", String::new()));
                };
                tracing::debug!(registry = %self.name, ?access, "pinged");
                Ok(access)
            })
            .await;
        match pinged {
            Ok(access) => Ok(Some(access)),
            Err(
                e @ (ResolveError::Unreachable { .. }
                | ResolveError::Timeout { .. }
                | ResolveError::UntrustedCertificate { .. }
                | ResolveError::Insecure { .. }
                | ResolveError::Registry { status: None, .. }),
            ) => Err(e),
            Err(e) => {
                tracing::debug!(registry = %self.name, error = %e, "ping not answered usefully");
                Ok(None)
            }
        }
    }

    /// Asks the realm for a token for `scope`, after checking that the
    /// realm may be asked at all: a registry reached over HTTPS gets its
    /// tokens over HTTPS; a plain-HTTP one may name a plain-HTTP realm only
    /// on a host that may itself use plain HTTP.
    async fn token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<Token, ResolveError> {
        let insecure = |reason: String| ResolveError::Insecure {
            registry: self.name.clone(),
            reason,
        };
        let url = Url::parse(realm)
            .map_err(|e| insecure(format!("its token realm `{realm}` is not a URL ({e})")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.base.scheme() == "https" => {
                return Err(insecure(format!(
                    "it is reached over HTTPS but names a plain-HTTP token realm `{realm}`; credentials and tokens of an HTTPS registry travel over HTTPS only"
                )))
            }
            "http" if !self.may_use_plain_http(&url) => {
                return Err(insecure(format!(
                    "its token realm `{realm}` is plain HTTP on a host that is neither loopback nor marked `insecure`"
                )))
            }
            "http" => {}
            other => {
                return Err(insecure(format!(
                    "its token realm `{realm}` has scheme `{other}`"
                )))
            }
        }
        TokenRequest {
            http: &self.http,
            registry: &self.name,
            realm: url,
            service,
            scope,
            credential: &self.credential,
            source: self.source.as_deref(),
            timeout: self.timeout,
        }
        .fetch()
        .await
    }

    /// Whether `url`'s host may be spoken to over plain HTTP: loopback, or
    /// a registry marked `insecure`.
    fn may_use_plain_http(&self, url: &Url) -> bool {
        let host = url.host_str().unwrap_or("");
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        is_loopback(&authority) || self.insecure.contains(&authority)
    }

    /// Sends one request, following redirects by hand: at most
    /// [`MAX_REDIRECTS`] hops, never from HTTPS to plain HTTP, plain HTTP
    /// only to hosts that may use it, and `authorization` only to the
    /// registry's own scheme, host and port.
    async fn follow(
        &self,
        method: Method,
        mut url: Url,
        accept: Option<&str>,
        authorization: Option<&str>,
    ) -> Result<reqwest::Response, ResolveError> {
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self.http.request(method.clone(), url.clone());
            if let Some(accept) = accept {
                request = request.header(ACCEPT, accept);
            }
            if let Some(authorization) = authorization {
                if url.origin() == self.base.origin() {
                    request = request.header(AUTHORIZATION, authorization);
                }
            }
            let answer = request
                .send()
                .await
                .map_err(|e| ResolveError::from_transport(&e, &self.name, self.timeout))?;
            if !answer.status().is_redirection() || answer.status() == StatusCode::NOT_MODIFIED {
                return Ok(answer);
            }
            let next = answer
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| ResolveError::Registry {
                    registry: self.name.clone(),
                    status: Some(answer.status().as_u16()),
                    message: "it redirected without a usable `Location`".into(),
                    retry_after: None,
                })?;
            self.check_redirect(&url, &next)?;
            tracing::debug!(registry = %self.name, from = %url, to = %next, "redirected");
            url = next;
        }
        Err(ResolveError::Registry {
            registry: self.name.clone(),
            status: None,
            message: format!("it redirected more than {MAX_REDIRECTS} times"),
            retry_after: None,
        })
    }

    fn check_redirect(&self, from: &Url, to: &Url) -> Result<(), ResolveError> {
        let refuse = |why: String| {
            Err(ResolveError::Insecure {
                registry: self.name.clone(),
                reason: why,
            })
        };
        match to.scheme() {
            "https" => Ok(()),
            "http" if from.scheme() == "https" => refuse(format!(
                "it redirected from HTTPS to plain HTTP (`{to}`), where anyone on the way could choose the answer"
            )),
            "http" if !self.may_use_plain_http(to) => refuse(format!(
                "it redirected to plain HTTP on `{}`, which is neither loopback nor marked `insecure`",
                to.host_str().unwrap_or("")
            )),
            "http" => Ok(()),
            other => refuse(format!("it redirected to a `{other}` URL")),
        }
    }

    /// A final answer: the body of a success read up to the cap, any other
    /// status as a typed error.
    async fn finish(
        &self,
        answer: reqwest::Response,
        request: &Request<'_>,
    ) -> Result<Answer, ResolveError> {
        let status = answer.status();
        if status.is_success() {
            let headers = answer.headers().clone();
            let url = answer.url().clone();
            let body = if request.method == Method::HEAD {
                Vec::new()
            } else {
                read_capped(answer, request.cap, &self.name, self.timeout, request.about).await?
            };
            return Ok(Answer { headers, body, url });
        }
        let headers = answer.headers().clone();
        let message = if request.method == Method::HEAD {
            String::new()
        } else {
            // A registry's own error text, for the message; cut short.
            read_capped(
                answer,
                MAX_ERROR_BYTES,
                &self.name,
                self.timeout,
                request.about,
            )
            .await
            .map(|body| registry_message(&body))
            .unwrap_or_default()
        };
        Err(self.status_error(status, &headers, request.about, message))
    }

    /// The error an unsuccessful status means.
    fn status_error(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        about: &str,
        message: String,
    ) -> ResolveError {
        let registry = self.name.clone();
        match status {
            StatusCode::NOT_FOUND => ResolveError::NotFound {
                reference: about.to_string(),
            },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => self.unauthorized(),
            StatusCode::TOO_MANY_REQUESTS => ResolveError::RateLimited {
                registry,
                retry_after: retry_after(headers),
            },
            _ => ResolveError::Registry {
                registry,
                status: Some(status.as_u16()),
                message: if message.is_empty() {
                    format!("HTTP {}", status.as_u16())
                } else {
                    format!("HTTP {}: {message}", status.as_u16())
                },
                retry_after: retry_after(headers),
            },
        }
    }
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    message: String,
}

/// The messages of a registry's error body (`{"errors":[{"message":…}]}`),
/// or its first line when it is not that.
fn registry_message(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(envelope) => envelope
            .errors
            .iter()
            .map(|e| first_line(&e.message))
            .collect::<Vec<_>>()
            .join("; "),
        Err(_) => first_line(&String::from_utf8_lossy(body)).to_string(),
    }
}

/// Reads a body chunk by chunk, stopping as soon as it passes `cap`:
/// memory stays bounded whatever the registry sends, and an endless body
/// fails at the cap rather than at the timeout.
pub(crate) async fn read_capped(
    mut answer: reqwest::Response,
    cap: usize,
    registry: &str,
    timeout: Duration,
    about: &str,
) -> Result<Vec<u8>, ResolveError> {
    let too_large = |size: usize| ResolveError::TooLarge {
        reference: about.to_string(),
        size,
        limit: cap,
    };
    if let Some(length) = answer.content_length() {
        if length > cap as u64 {
            return Err(too_large(usize::try_from(length).unwrap_or(usize::MAX)));
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) =
        answer.chunk().await.map_err(|e| {
            match ResolveError::from_transport(&e, registry, timeout) {
                ResolveError::Unreachable { registry, reason } => ResolveError::Unreachable {
                    registry,
                    reason: format!("the answer for `{about}` broke off: {reason}"),
                },
                other => other,
            }
        })?
    {
        if body.len() + chunk.len() > cap {
            return Err(too_large(body.len() + chunk.len()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `Retry-After` as a duration from now: delay-seconds or an HTTP date (a
/// date in the past is no wait).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(retry: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(retry).expect("ascii"));
        h
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(retry_after(&headers("2")), Some(Duration::from_secs(2)));
        assert_eq!(
            retry_after(&headers("Fri, 01 Jan 2010 00:00:00 GMT")),
            Some(Duration::ZERO),
            "a date in the past: no wait"
        );
        let ahead = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
        let wait = retry_after(&headers(&ahead)).expect("a date");
        assert!(wait > Duration::from_secs(3500) && wait <= Duration::from_secs(3600));
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn registry_messages_come_from_the_error_envelope() {
        assert_eq!(
            registry_message(br#"{"errors":[{"code":"X","message":"a"},{"message":"b\nc"}]}"#),
            "a; b"
        );
        assert_eq!(registry_message(b"<html>\nbusy"), "<html>");
    }
}
