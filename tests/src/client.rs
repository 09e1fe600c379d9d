//! Pushing fixtures to, and reading manifests from, a registry over plain
//! HTTP with the distribution API.
//!
//! Every request runs on a short-lived thread of its own: `reqwest::blocking`
//! panics when called from inside an async runtime, and tests written with
//! `#[tokio::test]` must be able to use the harness too.

use crate::fixture::{sha256_digest, Fixture, ACCEPT_ALL_MANIFESTS};
use anyhow::{anyhow, bail, Context as _};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::StatusCode;
use std::time::Duration;

/// What [`RegistryClient::push`] pushed, as the registry now serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// `sha256:…` of the top-level manifest (the index or list for a
    /// multi-platform image).
    pub digest: String,
    /// Media type of the top-level manifest.
    pub media_type: String,
    /// `(platform, digest)` of each platform manifest of a list or index,
    /// e.g. `("linux/arm64/v8", "sha256:…")`; attestations are left out.
    /// Empty for a single-platform image.
    pub children: Vec<(String, String)>,
}

/// A manifest answer, exactly as the registry sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// `Docker-Content-Digest`, if any.
    pub digest_header: Option<String>,
    /// The body bytes (empty for HEAD).
    pub body: Vec<u8>,
}

/// A blocking client for one registry at `127.0.0.1:PORT` (plain HTTP).
///
/// [`Registry`](crate::Registry) owns one; build one yourself to push to a
/// registry the harness did not start (the `images-testkit` binary does).
#[derive(Clone)]
pub struct RegistryClient {
    addr: String,
    /// `http` or `https`.
    scheme: &'static str,
    credentials: Option<(String, String)>,
    http: Client,
}

impl std::fmt::Debug for RegistryClient {
    // By hand, so a password never lands in a test's failure output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("addr", &self.addr)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .finish_non_exhaustive()
    }
}

impl RegistryClient {
    /// A client for the registry at `addr` (`host:port`), without credentials.
    pub fn new(addr: &str) -> anyhow::Result<RegistryClient> {
        RegistryClient::build(addr, None)
    }

    /// A client for a registry serving HTTPS at `addr`, trusting only the
    /// CA certificate (PEM) at `ca`.
    pub fn new_https(addr: &str, ca: &std::path::Path) -> anyhow::Result<RegistryClient> {
        let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        RegistryClient::build(addr, Some(pem))
    }

    fn build(addr: &str, ca_pem: Option<Vec<u8>>) -> anyhow::Result<RegistryClient> {
        let scheme = if ca_pem.is_some() { "https" } else { "http" };
        let http = off_runtime(|| {
            let mut builder = Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(30))
                // A registry redirecting us elsewhere would be a bug in the
                // test setup; surface it instead of following it.
                .redirect(reqwest::redirect::Policy::none());
            if let Some(pem) = &ca_pem {
                builder = builder.tls_certs_only([reqwest::Certificate::from_pem(pem)?]);
            }
            builder.build()
        })
        .context("building the HTTP client")?;
        Ok(RegistryClient {
            addr: addr.to_string(),
            scheme,
            credentials: None,
            http,
        })
    }

    /// The same client sending HTTP basic credentials with every request.
    pub fn with_credentials(mut self, user: &str, password: &str) -> RegistryClient {
        self.credentials = Some((user.to_string(), password.to_string()));
        self
    }

    /// `host:port` of the registry.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Status of `GET /v2/`: 200 when the registry is up (and the
    /// credentials, if any, are accepted).
    pub fn ping(&self) -> anyhow::Result<u16> {
        let response = self.send(self.http.get(self.url("/v2/")))?;
        Ok(response.status().as_u16())
    }

    /// Pushes `image` under `repo:tag`: each blob by a monolithic upload
    /// (POST then PUT), each child manifest by digest, then the top-level
    /// manifest by tag. Checks that the registry names every manifest by
    /// the sha256 of the bytes sent and then serves the tag byte-exact.
    pub fn push(&self, repo: &str, tag: &str, image: &Fixture) -> anyhow::Result<Pushed> {
        let built = image.build();
        for blob in &built.blobs {
            self.upload_blob(repo, &blob.bytes, &blob.digest)
                .with_context(|| format!("pushing blob {} to {repo}", blob.digest))?;
        }
        let Some((top, children)) = built.manifests.split_last() else {
            bail!("fixture {image:?} has no manifest");
        };
        for child in children {
            self.put_manifest(repo, &child.digest, child.media_type, &child.bytes)?;
        }
        self.put_manifest(repo, tag, top.media_type, &top.bytes)?;

        // Read it back: what we return must be what a client will get.
        let served = self.manifest(repo, tag)?;
        if served.status != 200 || served.body != top.bytes {
            bail!(
                "{repo}:{tag} was pushed but the registry serves something else: status {}, {} bytes instead of {}",
                served.status,
                served.body.len(),
                top.bytes.len()
            );
        }
        if served.digest_header.as_deref() != Some(top.digest.as_str()) {
            bail!(
                "{repo}:{tag}: registry names it {:?}, its bytes hash to {}",
                served.digest_header,
                top.digest
            );
        }
        Ok(Pushed {
            digest: top.digest.clone(),
            media_type: top.media_type.to_string(),
            children: built.children,
        })
    }

    /// Puts the top-level manifest of `image`, already pushed to `repo`,
    /// under one more tag: one request, no blobs. Returns its digest.
    pub fn tag(&self, repo: &str, tag: &str, image: &Fixture) -> anyhow::Result<String> {
        let built = image.build();
        let Some(top) = built.manifests.last() else {
            bail!("fixture {image:?} has no manifest");
        };
        self.put_manifest(repo, tag, top.media_type, &top.bytes)?;
        Ok(top.digest.clone())
    }

    /// `DELETE /v2/<repo>/manifests/<digest>`; the registry answers 202.
    pub fn delete_manifest(&self, repo: &str, digest: &str) -> anyhow::Result<()> {
        let path = format!("/v2/{repo}/manifests/{digest}");
        let response = self.send(self.http.delete(self.url(&path)))?;
        expect_status(response, StatusCode::ACCEPTED, &format!("DELETE {path}"))?;
        Ok(())
    }

    /// `GET /v2/<repo>/manifests/<reference>` with an `Accept` header naming
    /// all four manifest types; any status is returned, not an error.
    pub fn manifest(&self, repo: &str, reference: &str) -> anyhow::Result<Served> {
        self.fetch_manifest(reqwest::Method::GET, repo, reference)
    }

    /// Like [`manifest`](Self::manifest) with `HEAD`.
    pub fn head_manifest(&self, repo: &str, reference: &str) -> anyhow::Result<Served> {
        self.fetch_manifest(reqwest::Method::HEAD, repo, reference)
    }

    fn fetch_manifest(
        &self,
        method: reqwest::Method,
        repo: &str,
        reference: &str,
    ) -> anyhow::Result<Served> {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let request = self
            .http
            .request(method, url)
            .header("Accept", ACCEPT_ALL_MANIFESTS);
        off_runtime(|| {
            let response = self.execute(request)?;
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let status = response.status().as_u16();
            let content_type = header("content-type");
            let digest_header = header("docker-content-digest");
            let body = response.bytes()?.to_vec();
            Ok::<_, anyhow::Error>(Served {
                status,
                content_type,
                digest_header,
                body,
            })
        })
        .with_context(|| format!("GET manifest {repo}:{reference} from {}", self.addr))
    }

    /// `GET /v2/<repo>/blobs/<digest>`: the blob's bytes as served, not
    /// checked against `digest` (tests look at what a registry really
    /// serves). Any status but 200 is an error.
    pub fn blob(&self, repo: &str, digest: &str) -> anyhow::Result<Vec<u8>> {
        let path = format!("/v2/{repo}/blobs/{digest}");
        let response = self.send(self.http.get(self.url(&path)))?;
        let response = expect_status(response, StatusCode::OK, &format!("GET {path}"))?;
        off_runtime(|| response.bytes())
            .map(|bytes| bytes.to_vec())
            .with_context(|| format!("reading GET {path} from {}", self.addr))
    }

    /// Uploads `bytes` as a blob of `repo` (POST then a monolithic PUT);
    /// the registry checks them against `digest`.
    pub fn upload_blob(&self, repo: &str, bytes: &[u8], digest: &str) -> anyhow::Result<()> {
        let start = format!("/v2/{repo}/blobs/uploads/");
        let response = self.send(self.http.post(self.url(&start)))?;
        let response = expect_status(response, StatusCode::ACCEPTED, &format!("POST {start}"))?;
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow!("POST {start}: no Location header in the answer"))?;
        // distribution answers an absolute URL; a relative one is allowed.
        let mut url = if location.starts_with('/') {
            self.url(location)
        } else {
            location.to_string()
        };
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("digest=");
        url.push_str(digest);
        let response = self.send(
            self.http
                .put(url)
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(bytes.to_vec()),
        )?;
        expect_status(response, StatusCode::CREATED, "PUT blob upload")?;
        Ok(())
    }

    /// PUTs `bytes` as a manifest of `media_type` under `reference` (a tag
    /// or digest), byte-exact, for manifests no [`Fixture`] makes (a
    /// referrers index of the tag-schema fallback). What it names must be
    /// in the repository already.
    pub fn put_raw_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> anyhow::Result<()> {
        self.put_manifest(repo, reference, media_type, bytes)
    }

    /// `PUT /v2/<repo>/manifests/<reference>` (a tag or a digest) with
    /// `media_type`; checks that the registry names it by the sha256 of
    /// `bytes`. Its blobs must already be in `repo`.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> anyhow::Result<()> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let response = self.send(
            self.http
                .put(self.url(&path))
                .header(CONTENT_TYPE, media_type)
                .body(bytes.to_vec()),
        )?;
        let response = expect_status(response, StatusCode::CREATED, &format!("PUT {path}"))?;
        let expected = sha256_digest(bytes);
        let named = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if named != expected {
            bail!(
                "PUT {path}: registry named the manifest `{named}`, its bytes hash to {expected}"
            );
        }
        Ok(())
    }

    fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.credentials {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }

    fn send(&self, request: RequestBuilder) -> anyhow::Result<Response> {
        off_runtime(|| self.execute(request)).with_context(|| format!("request to {}", self.addr))
    }

    /// Sends `request` with the credentials; a 401 with a `Bearer`
    /// challenge (a registry in `auth: token` mode) fetches a token from
    /// the realm with those credentials and sends the request once more.
    fn execute(&self, request: RequestBuilder) -> anyhow::Result<Response> {
        let again = request.try_clone();
        let response = self.authorized(request).send()?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge = response
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(challenge_params);
        let (Some(challenge), Some(again)) = (challenge, again) else {
            return Ok(response);
        };
        let realm = challenge
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| anyhow!("a Bearer challenge without a realm"))?;
        let query: Vec<String> = challenge
            .iter()
            .filter(|(k, _)| k == "service" || k == "scope")
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect();
        let url = format!("{realm}?{}", query.join("&"));
        let answer = self.authorized(self.http.get(&url)).send()?;
        let answer = expect_status(answer, StatusCode::OK, &format!("GET {realm}"))?;
        let json: serde_json::Value = serde_json::from_slice(&answer.bytes()?)?;
        let token = json["token"]
            .as_str()
            .ok_or_else(|| anyhow!("GET {realm}: no `token` in the answer"))?;
        Ok(again.bearer_auth(token).send()?)
    }
}

/// Passes `response` through when it has `status`, else an error with what
/// the registry said.
fn expect_status(response: Response, status: StatusCode, what: &str) -> anyhow::Result<Response> {
    if response.status() == status {
        return Ok(response);
    }
    let got = response.status();
    let body = off_runtime(|| response.text()).unwrap_or_default();
    bail!("{what}: expected {status}, registry answered {got}: {body}")
}

/// `%XX` for everything but unreserved characters.
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `key="value"` pairs of a challenge; values may hold commas
/// (`scope="repository:a:pull,push"`).
fn challenge_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_string();
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((value, after)) => (value.to_string(), after),
                None => (quoted.to_string(), ""),
            },
            None => match after.split_once(',') {
                Some((value, after)) => (value.trim().to_string(), after),
                None => (after.trim().to_string(), ""),
            },
        };
        params.push((key, value));
        rest = after;
    }
    params
}

/// Runs `f` on a fresh thread, outside any async runtime the caller may be
/// in (reqwest's blocking client panics inside one).
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| match scope.spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}
