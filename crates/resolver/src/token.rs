//! Asking a registry's token endpoint (its `realm`) for a bearer token.
//!
//! Distribution's token protocol: `GET realm?service=S&scope=SCOPE` with
//! the user's basic credentials, or, holding a refresh token (Docker's
//! `identitytoken`), the OAuth2 form `POST realm` with
//! `grant_type=refresh_token`, falling back to `GET` when the endpoint does
//! not take the form (404 or 405, as the spec describes and containerd
//! does). The endpoint's body is read only for its token: it is never
//! logged or shown, since a broken endpoint may echo what it was sent.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;

use crate::auth::Credential;
use crate::transport::{read_capped, retry_after};
use crate::ResolveError;

/// How long a token without `expires_in` is used, as the token spec says.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

/// The largest token answer read; tokens are a few KiB.
const MAX_TOKEN_BYTES: usize = 1024 * 1024;

/// An access token and when to stop using it.
#[derive(Clone)]
pub(crate) struct Token {
    pub value: String,
    pub expires: Instant,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<i64>,
}

/// One token request, and everything needed to make it safely.
pub(crate) struct TokenRequest<'a> {
    pub http: &'a reqwest::Client,
    /// The registry, for messages.
    pub registry: &'a str,
    /// The realm, already checked against the realm rule.
    pub realm: Url,
    pub service: Option<&'a str>,
    pub scope: &'a str,
    pub credential: &'a Credential,
    /// Where the credential came from, for a refusal's message.
    pub source: Option<&'a str>,
    pub timeout: Duration,
}

impl TokenRequest<'_> {
    /// Asks for a token.
    pub(crate) async fn fetch(&self) -> Result<Token, ResolveError> {
        let answer = match self.credential {
            Credential::IdentityToken(refresh) => {
                let answer = self.post_refresh_token(refresh).await?;
                if matches!(
                    answer.status(),
                    StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
                ) {
                    tracing::debug!(
                        registry = self.registry,
                        "token endpoint takes no OAuth2 form; asking with GET"
                    );
                    self.get(None).await?
                } else {
                    answer
                }
            }
            Credential::Basic { username, password } => {
                self.get(Some((username, password))).await?
            }
            Credential::Anonymous => self.get(None).await?,
        };
        self.read(answer).await
    }

    async fn post_refresh_token(&self, refresh: &str) -> Result<reqwest::Response, ResolveError> {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", "images"),
            ("scope", self.scope),
        ];
        if let Some(service) = self.service {
            form.push(("service", service));
        }
        self.send(
            self.http
                .request(Method::POST, self.realm.clone())
                .form(&form),
        )
        .await
    }

    async fn get(
        &self,
        basic: Option<(&String, &String)>,
    ) -> Result<reqwest::Response, ResolveError> {
        let mut url = self.realm.clone();
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = self.service {
                query.append_pair("service", service);
            }
            query.append_pair("scope", self.scope);
        }
        let mut request = self.http.get(url);
        if let Some((username, password)) = basic {
            request = request.basic_auth(username, Some(password));
        }
        self.send(request).await
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ResolveError> {
        request
            .send()
            .await
            .map_err(|e| ResolveError::from_transport(&e, self.registry, self.timeout))
    }

    /// The token in a 200 answer; any other status is an error that names
    /// it, never the body.
    async fn read(&self, answer: reqwest::Response) -> Result<Token, ResolveError> {
        let status = answer.status();
        let registry = self.registry.to_string();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(ResolveError::Unauthorized {
                registry,
                credentials: self.source.map(str::to_string),
            });
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(ResolveError::RateLimited {
                registry,
                retry_after: retry_after(answer.headers()),
            });
        }
        if !status.is_success() {
            return Err(ResolveError::Registry {
                retry_after: retry_after(answer.headers()),
                registry,
                status: Some(status.as_u16()),
                message: format!("its token endpoint answered HTTP {}", status.as_u16()),
            });
        }
        let body = read_capped(
            answer,
            MAX_TOKEN_BYTES,
            self.registry,
            self.timeout,
            "token",
        )
        .await
        .map_err(|e| match e {
            ResolveError::TooLarge { .. } => self.garbage("too large"),
            other => other,
        })?;
        let parsed: TokenAnswer =
            serde_json::from_slice(&body).map_err(|_| self.garbage("not JSON"))?;
        let value = parsed
            .token
            .or(parsed.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.garbage("no token in it"))?;
        let lifetime = match parsed.expires_in {
            Some(secs) => Duration::from_secs(u64::try_from(secs).unwrap_or(0)),
            None => DEFAULT_LIFETIME,
        };
        tracing::debug!(
            registry = self.registry,
            scope = self.scope,
            lifetime_secs = lifetime.as_secs(),
            "token issued"
        );
        Ok(Token {
            value,
            expires: Instant::now() + lifetime,
        })
    }

    fn garbage(&self, what: &str) -> ResolveError {
        ResolveError::Registry {
            registry: self.registry.to_string(),
            status: Some(200),
            message: format!("its token endpoint's answer is unusable ({what})"),
            retry_after: None,
        }
    }
}
