//! A token server for distribution's `auth: token` mode, on loopback.
//!
//! It does exactly what distribution 2.8 requires (REGISTRY.md): answer
//! `GET realm?service=S&scope=repository:NAME:ACTIONS` with
//! `{"token", "access_token", "expires_in"}`, the token a JWT signed ES256
//! (raw `r||s`) whose `kid` is the libtrust fingerprint of the signing key,
//! with `iss`, `aud` (a plain string), `exp` and `access` claims. The
//! registry trusts it through `rootcertbundle`, a self-signed certificate of
//! the same key. It also takes the OAuth2 form (`POST realm` with
//! `grant_type=password` or `grant_type=refresh_token`), as Docker sends it
//! when it holds an identity token.
//!
//! Tests use it to count token requests and to hand out flawed tokens (for
//! another repository, already expired) and see the client recover.

use crate::poison::lock;
use std::collections::VecDeque;
use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rcgen::{CertificateParams, DnType, KeyPair, PublicKeyData as _};
use sha2::{Digest as _, Sha256};

use crate::http::{read_head, read_request_body, reason, Head};
use crate::tls::ServerTls;

/// The `service` the registry names in its challenge and the token's `aud`.
pub const TOKEN_SERVICE: &str = "images-testkit-registry";
/// The token's `iss`, which the registry checks.
pub const TOKEN_ISSUER: &str = "images-testkit-token-server";

/// How long an issued token is valid, in seconds (`expires_in` and `exp`).
const LIFETIME_SECS: u64 = 300;

/// What a registry needs in its config to trust a [`TokenServer`], and the
/// credentials the harness itself pushes with.
#[derive(Debug, Clone)]
pub struct TokenAuth {
    /// `http://127.0.0.1:PORT/token`.
    pub realm: String,
    /// [`TOKEN_SERVICE`].
    pub service: String,
    /// [`TOKEN_ISSUER`].
    pub issuer: String,
    /// PEM certificate of the token signing key (`rootcertbundle`).
    pub root_certificates: PathBuf,
    /// `(user, password)` the token server accepts, if it checks any.
    pub credentials: Option<(String, String)>,
}

/// A defect to put into issued tokens, to see the client recover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// Grants `pull` on another repository than asked for: the registry
    /// answers 401 with `error="insufficient_scope"`.
    WrongScope,
    /// `exp` and `expires_in` already in the past.
    Expired,
    /// No token: a 500 whose body echoes the request's `Authorization`
    /// header and form, as a broken endpoint's debug page does. Whatever
    /// the client logs of it leaks the credentials.
    EchoCredentials,
}

/// One request the token server answered (or refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The `scope` parameters, e.g. `repository:acme/api:pull`.
    pub scopes: Vec<String>,
    /// The user who authenticated, if any.
    pub user: Option<String>,
    /// `GET` (the token flow) or `POST` (OAuth2).
    pub method: String,
    /// Whether a token was issued.
    pub granted: bool,
}

/// A running token server; stops on drop.
pub struct TokenServer {
    shared: Arc<Shared>,
    root_dir: tempfile::TempDir,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for TokenServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenServer")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

struct Shared {
    addr: String,
    /// Serve HTTPS with this, when set.
    tls: Option<Arc<rustls::ServerConfig>>,
    signer: EcdsaKeyPair,
    kid: String,
    credentials: Option<(String, String)>,
    refresh_token: Option<String>,
    flaws: Mutex<VecDeque<Flaw>>,
    /// Repositories every token grants `pull` on, whatever was asked.
    also_granted: Mutex<Vec<String>>,
    requests: Mutex<Vec<TokenRequest>>,
    issued: Mutex<Vec<String>>,
    next_id: AtomicU64,
    stopping: AtomicBool,
}

impl TokenServer {
    /// A token server on a free loopback port. With `credentials`, only
    /// requests with that HTTP basic user and password get a token; without,
    /// anyone does.
    pub fn start(credentials: Option<(String, String)>) -> anyhow::Result<TokenServer> {
        TokenServer::start_with(credentials, None)
    }

    /// Like [`start`](Self::start), also accepting `refresh_token` in the
    /// OAuth2 `grant_type=refresh_token` form (Docker's identity tokens).
    pub fn start_with(
        credentials: Option<(String, String)>,
        refresh_token: Option<String>,
    ) -> anyhow::Result<TokenServer> {
        TokenServer::start_serving(credentials, refresh_token, None)
    }

    /// Like [`start`](Self::start), serving HTTPS with `tls`: the realm an
    /// HTTPS registry may name.
    pub fn start_tls(
        credentials: Option<(String, String)>,
        tls: &ServerTls,
    ) -> anyhow::Result<TokenServer> {
        TokenServer::start_serving(credentials, None, Some(tls.rustls_config()?))
    }

    fn start_serving(
        credentials: Option<(String, String)>,
        refresh_token: Option<String>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> anyhow::Result<TokenServer> {
        let key = KeyPair::generate().context("generating the token signing key")?;
        let signer =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.serialize_der())
                .map_err(|e| anyhow::anyhow!("loading the signing key: {e}"))?;
        let kid = libtrust_fingerprint(&key.subject_public_key_info());
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, TOKEN_ISSUER);
        let cert = params
            .self_signed(&key)
            .context("making the token root certificate")?;
        let root_dir = tempfile::Builder::new()
            .prefix("images-testkit-token-")
            .tempdir()
            .context("creating the token server's directory")?;
        let root = root_dir.path().join("rootcertbundle.pem");
        std::fs::write(&root, cert.pem()).with_context(|| format!("writing {}", root.display()))?;

        let listener =
            TcpListener::bind("127.0.0.1:0").context("binding the token server to 127.0.0.1")?;
        let addr = listener
            .local_addr()
            .context("reading the token server's address")?
            .to_string();
        let shared = Arc::new(Shared {
            addr,
            tls,
            signer,
            kid,
            credentials,
            refresh_token,
            flaws: Mutex::new(VecDeque::new()),
            also_granted: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            issued: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("token-server-accept".into())
                .spawn(move || accept_loop(&shared, &listener))
                .context("starting the token server thread")?
        };
        Ok(TokenServer {
            shared,
            root_dir,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:PORT/token` (`https://` with TLS), the realm the
    /// registry names.
    pub fn realm(&self) -> String {
        let scheme = if self.shared.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}/token", self.shared.addr)
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        self.shared.addr.clone()
    }

    /// What [`RegistryOptions::token`](crate::RegistryOptions::token) needs.
    pub fn registry_auth(&self) -> TokenAuth {
        TokenAuth {
            realm: self.realm(),
            service: TOKEN_SERVICE.to_string(),
            issuer: TOKEN_ISSUER.to_string(),
            root_certificates: self.root_dir.path().join("rootcertbundle.pem"),
            credentials: self.shared.credentials.clone(),
        }
    }

    /// Gives each of the next `times` tokens `flaw`.
    pub fn flaw_next(&self, flaw: Flaw, times: usize) {
        let mut flaws = lock(&self.shared.flaws);
        flaws.clear();
        flaws.extend(std::iter::repeat_n(flaw, times));
    }

    /// Makes every token also grant `pull` on `repositories`, as a
    /// registry's account-wide tokens do: one token then serves them all.
    pub fn also_grant(&self, repositories: &[&str]) {
        *lock(&self.shared.also_granted) = repositories.iter().map(|r| r.to_string()).collect();
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<TokenRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Token requests so far whose scope names `repository`.
    pub fn requests_for(&self, repository: &str) -> usize {
        let prefix = format!("repository:{repository}:");
        lock(&self.shared.requests)
            .iter()
            .filter(|r| r.scopes.iter().any(|s| s.starts_with(&prefix)))
            .count()
    }

    /// Forgets the requests recorded so far (the harness's own pushes).
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Every token issued so far: what must never appear in output.
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.shared.issued).clone()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.shared.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(shared);
        // A failed spawn drops one connection; the client sees it closed.
        let _ = std::thread::Builder::new()
            .name("token-server-conn".into())
            .spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let _ = match &shared.tls {
                    Some(config) => rustls::ServerConnection::new(Arc::clone(config))
                        .map_err(std::io::Error::other)
                        .and_then(|c| serve(&shared, rustls::StreamOwned::new(c, stream))),
                    None => serve(&shared, stream),
                };
            });
    }
}

/// Answers requests on one keep-alive connection until the client closes it.
fn serve(shared: &Shared, stream: impl Read + Write) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    while let Some(head) = read_head(&mut reader)? {
        let body = read_request_body(&mut reader, &head)?;
        let (status, json) = answer(shared, &head, &body);
        let text = json.to_string();
        let mut out = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            reason(status),
            text.len()
        );
        if status == 401 {
            out.push_str("WWW-Authenticate: Basic realm=\"images-testkit-token\"\r\n");
        }
        out.push_str("\r\n");
        out.push_str(&text);
        let writer = reader.get_mut();
        writer.write_all(out.as_bytes())?;
        writer.flush()?;
        if head.connection_has("close") {
            break;
        }
    }
    Ok(())
}

fn answer(shared: &Shared, head: &Head, body: &[u8]) -> (u16, serde_json::Value) {
    let mut parts = head.start.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != "/token" {
        return (404, serde_json::json!({"error": "not found"}));
    }
    let form = match method.as_str() {
        "GET" => parse_form(query),
        "POST" => parse_form(&String::from_utf8_lossy(body)),
        _ => return (405, serde_json::json!({"error": "method not allowed"})),
    };
    let scopes: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "scope")
        // Docker joins several scopes with a space in the OAuth2 form.
        .flat_map(|(_, v)| v.split(' ').map(str::to_string).collect::<Vec<_>>())
        .filter(|s| !s.is_empty())
        .collect();
    let user = authenticate(shared, head, &method, &form);
    let mut request = TokenRequest {
        scopes: scopes.clone(),
        user: user.clone().ok().flatten(),
        method: method.clone(),
        granted: false,
    };
    let user = match user {
        Ok(user) => user,
        Err(()) => {
            lock(&shared.requests).push(request);
            return (
                401,
                serde_json::json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}),
            );
        }
    };
    let flaw = lock(&shared.flaws).pop_front();
    if flaw == Some(Flaw::EchoCredentials) {
        lock(&shared.requests).push(request);
        return (
            500,
            serde_json::json!({"error": "internal", "request": {
                "authorization": head.get("authorization"),
                "form": String::from_utf8_lossy(body),
            }}),
        );
    }
    let token = sign(shared, user.as_deref().unwrap_or(""), &scopes, flaw);
    request.granted = true;
    lock(&shared.requests).push(request);
    lock(&shared.issued).push(token.clone());
    let expires_in: i64 = if flaw == Some(Flaw::Expired) {
        -120
    } else {
        LIFETIME_SECS as i64
    };
    let mut json = serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": expires_in,
    });
    if method == "POST" {
        if let Some(refresh) = &shared.refresh_token {
            json["refresh_token"] = serde_json::Value::String(refresh.clone());
        }
    }
    (200, json)
}

/// `Ok(Some(user))` for good credentials, `Ok(None)` for anonymous when the
/// server checks none, `Err` when refused.
fn authenticate(
    shared: &Shared,
    head: &Head,
    method: &str,
    form: &[(String, String)],
) -> Result<Option<String>, ()> {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if method == "POST" {
        match field("grant_type").as_deref() {
            Some("refresh_token") => {
                return match (&shared.refresh_token, field("refresh_token")) {
                    (Some(want), Some(got)) if *want == got => Ok(Some("identity".into())),
                    _ => Err(()),
                }
            }
            Some("password") => {
                let given = (field("username"), field("password"));
                return match (&shared.credentials, given) {
                    (Some((u, p)), (Some(gu), Some(gp))) if *u == gu && *p == gp => Ok(Some(gu)),
                    (None, (user, _)) => Ok(user),
                    _ => Err(()),
                };
            }
            _ => return Err(()),
        }
    }
    let basic = head
        .get("authorization")
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    match (&shared.credentials, basic) {
        (None, None) => Ok(None),
        (None, Some(text)) => Ok(text.split_once(':').map(|(u, _)| u.to_string())),
        (Some((u, p)), Some(text)) if text == format!("{u}:{p}") => Ok(Some(u.clone())),
        (Some(_), _) => Err(()),
    }
}

/// A JWT granting what `scopes` ask for, unless `flaw` says otherwise.
fn sign(shared: &Shared, subject: &str, scopes: &[String], flaw: Option<Flaw>) -> String {
    let extra: Vec<String> = lock(&shared.also_granted)
        .iter()
        .map(|repo| format!("repository:{repo}:pull"))
        .collect();
    let access: Vec<serde_json::Value> = scopes
        .iter()
        .chain(&extra)
        .filter_map(|scope| {
            // `repository:NAME:ACTIONS`; NAME may hold `:` only with a port,
            // which repository names never have.
            let mut parts = scope.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            let name = if flaw == Some(Flaw::WrongScope) {
                format!("{name}-not-this-one")
            } else {
                name.to_string()
            };
            Some(serde_json::json!({
                "type": kind,
                "name": name,
                "actions": actions.split(',').collect::<Vec<_>>(),
            }))
        })
        .collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Distribution allows 60 s of leeway on `exp`: an expired token must be
    // well past it.
    let exp = if flaw == Some(Flaw::Expired) {
        now.saturating_sub(600)
    } else {
        now + LIFETIME_SECS
    };
    let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
    let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "kid": shared.kid});
    let claims = serde_json::json!({
        "iss": TOKEN_ISSUER,
        "sub": subject,
        "aud": TOKEN_SERVICE,
        "exp": exp,
        "nbf": now.saturating_sub(900),
        "iat": now.saturating_sub(900),
        "jti": format!("images-testkit-{id}"),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = shared
        .signer
        .sign(&SystemRandom::new(), signing_input.as_bytes())
        .map(|s| URL_SAFE_NO_PAD.encode(s.as_ref()))
        // Signing with a key we just made cannot fail short of a broken
        // crypto library; an unsigned token then fails loudly at the registry.
        .unwrap_or_default();
    format!("{signing_input}.{signature}")
}

/// libtrust's key ID: base32 of the first 30 bytes of sha256(SPKI DER),
/// no padding, in 12 groups of 4 joined by `:`.
fn libtrust_fingerprint(spki_der: &[u8]) -> String {
    let hash = Sha256::digest(spki_der);
    let encoded = base32(&hash[..30]);
    encoded
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

/// RFC 4648 base32, without padding (30 bytes make exactly 48 characters).
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u64, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u64::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// `a=1&b=2` with `%XX` and `+` decoded.
fn parse_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648_vectors() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
    }

    #[test]
    fn fingerprint_has_twelve_groups_of_four() {
        let kid = libtrust_fingerprint(b"any key");
        assert_eq!(kid.split(':').count(), 12, "{kid}");
        assert!(kid.split(':').all(|g| g.len() == 4), "{kid}");
    }

    #[test]
    fn forms_decode_percent_and_plus() {
        assert_eq!(
            parse_form("scope=repository%3Aacme%2Fapi%3Apull&x=a+b"),
            vec![
                ("scope".to_string(), "repository:acme/api:pull".to_string()),
                ("x".to_string(), "a b".to_string())
            ]
        );
    }
}
