//! A small HTTP/1.1 proxy between a client and the real registry that
//! injects one fault at a time: error statuses, resets, hangs, tampered
//! manifests, wrong digest headers, truncated bodies, slow answers.
//!
//! The real registry never misbehaves, and the ways `images` must cope
//! with a misbehaving one (retry, time out, refuse a tampered body) are the
//! point of the tool; so tests put this proxy in front of it.
//!
//! ```no_run
//! use images_testkit::{Fault, FaultProxy, Fixture, Kind, Registry};
//! let registry = Registry::start()?;
//! registry.push("demo/web", "1", &Fixture::new(Kind::OciIndex, "web-1"))?;
//! let proxy = FaultProxy::start(&registry.addr())?;
//! proxy.set(Fault::Status { code: 503, retry_after: Some("1".into()), times: 2 });
//! // ... point `images` at proxy.addr(): it must retry and succeed ...
//! assert!(proxy.requests().len() >= 3);
//! # anyhow::Ok(())
//! ```

use crate::http::{self, Head};
use crate::poison::lock;
use anyhow::Context as _;
use std::collections::HashMap;
use std::io::{self, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sha2::Digest as _;

/// How long the proxy waits on the upstream registry before giving up.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// The fault the proxy applies to the requests it relays from now on.
///
/// "Manifest answers" are answers to requests whose path contains
/// `/manifests/`; the faults marked so leave every other request alone
/// (the `GET /v2/` ping, blobs, uploads).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Fault {
    /// Relay everything unchanged.
    #[default]
    None,
    /// Answer the next `times` requests (any path) with `code` and a
    /// registry-style JSON error body, plus `Retry-After` when given, without
    /// asking the registry; then relay. `times: usize::MAX` for "always".
    Status {
        /// e.g. 429, 500, 502, 503.
        code: u16,
        /// The `Retry-After` value, e.g. `"1"` or an HTTP date.
        retry_after: Option<String>,
        /// How many requests get the status.
        times: usize,
    },
    /// Close the connection without answering the next `times` requests
    /// (any path); then relay.
    Reset {
        /// How many requests are cut off.
        times: usize,
    },
    /// Read each request and never answer it, until the proxy is dropped.
    Hang,
    /// Manifest GET answers: change one hex digit of the body (same length,
    /// still valid JSON, same headers), so only hashing the body notices.
    TamperBody,
    /// Manifest answers: `Docker-Content-Digest` says this instead.
    RewriteDigestHeader(String),
    /// Manifest answers: no `Docker-Content-Digest` at all.
    DropDigestHeader,
    /// Every HEAD request: 405 Method Not Allowed, as some registries and
    /// proxies answer.
    HeadNotAllowed,
    /// Manifest answers replaced entirely, without asking the registry: an
    /// HTML error page, garbage, a huge body. HEAD gets the same headers
    /// without the body.
    Body {
        /// The status to answer.
        status: u16,
        /// The `Content-Type` to answer.
        content_type: String,
        /// The body to answer.
        body: Vec<u8>,
    },
    /// Manifest GET answers: `Content-Length` of the full body, half of the
    /// body, then the connection closes.
    Truncate,
    /// Every answer is delayed by `delay_ms`.
    Slow {
        /// The delay before each answer, in milliseconds.
        delay_ms: u64,
    },
    /// Manifest GET answers: 200 with a manifest `Content-Type`, no
    /// `Content-Length`, and a body that never ends (the start of a JSON
    /// manifest, then whitespace, as fast as the client reads), until the
    /// client hangs up or the proxy is dropped. HEAD is relayed.
    Endless,
    /// Manifest answers: `status` (301, 302, 307, 308) with
    /// `Location: {location}{path}`, where `path` is the request's own
    /// target, so the redirect leads to the same path on another server.
    /// The registry is not asked.
    Redirect {
        /// The redirect status.
        status: u16,
        /// Scheme and authority to send the client to, e.g.
        /// `http://127.0.0.1:PORT`.
        location: String,
    },
    /// Manifest answers: relayed with `Content-Type` replaced by this.
    ContentType(String),
    /// Manifest GET answers: `status` with a registry-style JSON error
    /// body (as distribution writes them) whose `message` is this text (JSON-escaped, so any bytes a hostile
    /// registry would send arrive as they are). HEAD is relayed, so a
    /// moved tag is seen first and the error comes from the GET after it.
    ErrorMessage {
        /// The status to answer, e.g. 400 (not retried). The registry is
        /// not asked.
        status: u16,
        /// The registry's error message, e.g. with ESC sequences or a
        /// `\n::notice::` workflow command in it.
        message: String,
    },
    /// Manifest answers: `Docker-Content-Digest` names the body's sha512, a
    /// correct digest in the other algorithm the spec allows. A HEAD is
    /// relayed as a GET to learn the body, and answered without it.
    Sha512DigestHeader,
    /// `GET …/tags/list` answers: the registry's list, sorted and cut into
    /// pages of `per_page` after the `last` the request names, with
    /// `Link: <…?n=…&last=…>; rel="next"` while more remain, as Docker Hub
    /// and distribution 3 page (2.8 sends every tag at once).
    PageTags {
        /// Tags per page.
        per_page: usize,
    },
}

/// A fault-injecting HTTP/1.1 proxy on a free 127.0.0.1 port, forwarding to
/// one upstream registry. Stops, closing every connection, on drop.
#[derive(Debug)]
pub struct FaultProxy {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    upstream: String,
    addr: String,
    state: Mutex<State>,
    log: Mutex<Vec<String>>,
    /// The request heads behind `log`, one for one.
    heads: Mutex<Vec<Vec<(String, String)>>>,
    /// When each request in `log` arrived, one for one.
    times: Mutex<Vec<Instant>>,
    /// Requests being answered now, and the most there ever were.
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    stopping: AtomicBool,
    /// Open client connections, to shut them down when the proxy stops.
    connections: Mutex<HashMap<u64, TcpStream>>,
    next_id: AtomicU64,
}

#[derive(Debug)]
struct State {
    fault: Fault,
    /// Requests left for a counted fault (`Status`, `Reset`).
    remaining: usize,
}

/// What to do with one request.
enum Plan {
    Relay(Fault),
    Answer(Head, Vec<u8>),
    Reset,
    Hang,
    Endless,
}

impl FaultProxy {
    /// A proxy in front of `upstream` (`host:port`), relaying unchanged
    /// until [`set`](Self::set) is called.
    pub fn start(upstream: &str) -> anyhow::Result<FaultProxy> {
        let listener =
            TcpListener::bind("127.0.0.1:0").context("binding the fault proxy to 127.0.0.1")?;
        let addr = listener
            .local_addr()
            .context("reading the fault proxy's address")?
            .to_string();
        let shared = Arc::new(Shared {
            upstream: upstream.to_string(),
            addr,
            state: Mutex::new(State {
                fault: Fault::None,
                remaining: 0,
            }),
            log: Mutex::new(Vec::new()),
            heads: Mutex::new(Vec::new()),
            times: Mutex::new(Vec::new()),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            connections: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("fault-proxy-accept".into())
                .spawn(move || accept_loop(&shared, &listener))
                .context("starting the fault proxy thread")?
        };
        Ok(FaultProxy {
            shared,
            accept: Some(accept),
        })
    }

    /// `127.0.0.1:PORT` of the proxy: give this to the client under test.
    pub fn addr(&self) -> String {
        self.shared.addr.clone()
    }

    /// Replaces the active fault; applies to requests read from now on
    /// (including on connections already open). Restarts the count of a
    /// `Status` or `Reset`.
    pub fn set(&self, fault: Fault) {
        let remaining = match &fault {
            Fault::Status { times, .. } | Fault::Reset { times } => *times,
            _ => 0,
        };
        let mut state = lock(&self.shared.state);
        state.fault = fault;
        state.remaining = remaining;
    }

    /// Every request seen so far, as `METHOD target` (e.g.
    /// `HEAD /v2/demo/web/manifests/1.0`), in arrival order, whatever the
    /// fault did with it.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.shared.log).clone()
    }

    /// When each request of [`requests`](Self::requests) arrived, one for
    /// one: to check how long a client waited before trying again.
    pub fn request_times(&self) -> Vec<Instant> {
        lock(&self.shared.times).clone()
    }

    /// For every request seen so far (as in [`requests`](Self::requests)),
    /// the value of its header `name` (case-insensitive), if it had one:
    /// e.g. which requests carried an `Authorization`.
    pub fn request_header(&self, name: &str) -> Vec<(String, Option<String>)> {
        let log = lock(&self.shared.log);
        let heads = lock(&self.shared.heads);
        log.iter()
            .zip(heads.iter())
            .map(|(line, headers)| {
                let value = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone());
                (line.clone(), value)
            })
            .collect()
    }

    /// The most requests the proxy was answering at one moment: how many
    /// a client had in flight.
    pub fn max_in_flight(&self) -> u64 {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// How many client connections the proxy has accepted: fewer than
    /// [`requests`](Self::requests) when the client keeps connections alive.
    pub fn connections(&self) -> u64 {
        self.shared.next_id.load(Ordering::SeqCst)
    }

    /// Forgets the requests seen so far.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
        lock(&self.shared.heads).clear();
        lock(&self.shared.times).clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop: it checks `stopping` after each accept.
        let _ = TcpStream::connect(&self.shared.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for (_, stream) in lock(&self.shared.connections).drain() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = stream.try_clone() {
            lock(&shared.connections).insert(id, clone);
        }
        let shared = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name("fault-proxy-conn".into())
            .spawn(move || {
                // An error ends this connection only; the client sees it
                // closed, which is all a proxy can do.
                let _ = serve_connection(&shared, stream);
                lock(&shared.connections).remove(&id);
            });
        if spawned.is_err() {
            // Out of threads: the dropped stream closes the connection.
            continue;
        }
    }
}

/// Relays requests from one client connection until it closes, asks to
/// close, or a fault closes it.
fn serve_connection(shared: &Shared, stream: TcpStream) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut client = stream;
    loop {
        let Some(request) = http::read_head(&mut reader)? else {
            return Ok(());
        };
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let answered = answer_one(shared, &mut reader, &mut client, &request);
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !answered? {
            return Ok(());
        }
    }
}

/// Answers one request; `Ok(false)` when the connection is to close.
fn answer_one(
    shared: &Shared,
    reader: &mut BufReader<TcpStream>,
    client: &mut TcpStream,
    request: &Head,
) -> io::Result<bool> {
    let body = http::read_request_body(reader, request)?;
    if shared.stopping.load(Ordering::SeqCst) {
        return Ok(false);
    }
    let mut parts = request.start.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let version = parts.next().unwrap_or("HTTP/1.1");
    let keep_alive = if version == "HTTP/1.0" {
        request.connection_has("keep-alive")
    } else {
        !request.connection_has("close")
    };
    {
        // The logs under one order of locking, so they stay aligned.
        let mut log = lock(&shared.log);
        let mut heads = lock(&shared.heads);
        let mut times = lock(&shared.times);
        log.push(format!("{method} {target}"));
        heads.push(request.headers.clone());
        times.push(Instant::now());
    }
    let manifest = target.contains("/manifests/");
    let is_head = method.eq_ignore_ascii_case("HEAD");

    let (mut head, mut body, fault) = match plan(shared, &method, &target, manifest) {
        Plan::Reset => {
            let _ = client.shutdown(Shutdown::Both);
            return Ok(false);
        }
        Plan::Hang => {
            while !shared.stopping.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = client.shutdown(Shutdown::Both);
            return Ok(false);
        }
        Plan::Answer(head, body) => (head, body, Fault::None),
        Plan::Endless => {
            endless(shared, client);
            let _ = client.shutdown(Shutdown::Both);
            return Ok(false);
        }
        Plan::Relay(fault) => match relay(
            shared,
            request,
            &body,
            // To name the body's sha512 in a HEAD answer, ask for the body.
            if fault == Fault::Sha512DigestHeader && manifest && is_head {
                "GET"
            } else {
                &method
            },
        ) {
            Ok((head, body)) => (head, body, fault),
            // What a gateway answers when the registry is down or broke
            // off: the client sees a 502, as behind a real proxy.
            Err(err) => {
                let (head, body) = made_up(
                    502,
                    "text/plain; charset=utf-8",
                    format!("fault proxy: upstream {}: {err}\n", shared.upstream).into_bytes(),
                );
                (head, body, Fault::None)
            }
        },
    };

    // A HEAD answer keeps the length its GET would have.
    let length = if is_head {
        head.get("content-length").unwrap_or("0").to_string()
    } else {
        body.len().to_string()
    };
    for name in [
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
    ] {
        head.remove(name);
    }
    head.headers.push(("Content-Length".into(), length));
    if !keep_alive {
        head.headers.push(("Connection".into(), "close".into()));
    }
    // Upload URLs name the registry; the client must keep coming to us.
    let upstream = format!("://{}", shared.upstream);
    for (name, value) in &mut head.headers {
        if name.eq_ignore_ascii_case("location") {
            *value = value.replace(&upstream, &format!("://{}", shared.addr));
        }
    }

    if let Fault::PageTags { per_page } = &fault {
        if target.contains("/tags/list") && http::status_code(&head) == 200 {
            body = page_tags(&mut head, &body, &target, *per_page);
            head.set("Content-Length", &body.len().to_string());
        }
    }
    let get_manifest = manifest && !is_head && !body.is_empty();
    match &fault {
        Fault::TamperBody if get_manifest => tamper(&mut body),
        Fault::RewriteDigestHeader(digest) if manifest => head.set("Docker-Content-Digest", digest),
        Fault::DropDigestHeader if manifest => head.remove("docker-content-digest"),
        Fault::ContentType(content_type) if manifest => head.set("Content-Type", content_type),
        Fault::Sha512DigestHeader if manifest && http::status_code(&head) == 200 => {
            let sha512 = hex::encode(sha2::Sha512::digest(&body));
            head.set("Docker-Content-Digest", &format!("sha512:{sha512}"));
        }
        Fault::Slow { delay_ms } => std::thread::sleep(Duration::from_millis(*delay_ms)),
        Fault::Truncate if get_manifest => {
            client.write_all(&head.to_bytes())?;
            client.write_all(&body[..body.len() / 2])?;
            client.flush()?;
            let _ = client.shutdown(Shutdown::Both);
            return Ok(false);
        }
        _ => {}
    }
    let body = if is_head { &[][..] } else { &body[..] };
    http::write_message(client, &head, body)?;
    if !keep_alive {
        let _ = client.shutdown(Shutdown::Both);
        return Ok(false);
    }
    Ok(true)
}

/// Decides, under the lock, what the active fault does to this request.
fn plan(shared: &Shared, method: &str, target: &str, manifest: bool) -> Plan {
    let mut state = lock(&shared.state);
    let counted = state.remaining > 0;
    match state.fault.clone() {
        Fault::Status {
            code, retry_after, ..
        } if counted => {
            state.remaining -= 1;
            let (mut head, body) = error_answer(code);
            if let Some(retry_after) = retry_after {
                head.headers.push(("Retry-After".into(), retry_after));
            }
            Plan::Answer(head, body)
        }
        Fault::Reset { .. } if counted => {
            state.remaining -= 1;
            Plan::Reset
        }
        Fault::Status { .. } | Fault::Reset { .. } => Plan::Relay(Fault::None),
        Fault::Hang => Plan::Hang,
        Fault::HeadNotAllowed if method.eq_ignore_ascii_case("HEAD") => {
            let (head, body) = made_up(405, "application/json", Vec::new());
            Plan::Answer(head, body)
        }
        Fault::Body {
            status,
            content_type,
            body,
        } if manifest => {
            let (head, body) = made_up(status, &content_type, body);
            Plan::Answer(head, body)
        }
        Fault::Endless if manifest && !method.eq_ignore_ascii_case("HEAD") => Plan::Endless,
        Fault::ErrorMessage { status, message }
            if manifest && !method.eq_ignore_ascii_case("HEAD") =>
        {
            let body = serde_json::json!({
                "errors": [{"code": "UNSUPPORTED", "message": message, "detail": null}]
            });
            let (head, body) = made_up(
                status,
                "application/json; charset=utf-8",
                body.to_string().into_bytes(),
            );
            Plan::Answer(head, body)
        }
        Fault::Redirect { status, location } if manifest => {
            let (mut head, body) = made_up(status, "text/plain; charset=utf-8", Vec::new());
            head.headers
                .push(("Location".into(), format!("{location}{target}")));
            Plan::Answer(head, body)
        }
        fault => Plan::Relay(fault),
    }
}

/// Streams a manifest answer that never ends: a close-delimited body (no
/// `Content-Length`, no chunking), the start of a JSON manifest and then
/// whitespace, until the client hangs up or the proxy stops.
fn endless(shared: &Shared, client: &mut TcpStream) {
    let head = Head {
        start: "HTTP/1.1 200 OK".into(),
        headers: vec![
            (
                "Content-Type".into(),
                "application/vnd.oci.image.manifest.v1+json".into(),
            ),
            ("Connection".into(), "close".into()),
            (
                "Docker-Distribution-Api-Version".into(),
                "registry/2.0".into(),
            ),
        ],
    };
    let filler = vec![b' '; 64 * 1024];
    let written = client
        .write_all(&head.to_bytes())
        .and_then(|()| client.write_all(br#"{"schemaVersion":2,"layers":["#));
    if written.is_err() {
        return;
    }
    while !shared.stopping.load(Ordering::SeqCst) {
        if client.write_all(&filler).is_err() {
            return;
        }
    }
}

/// A registry-style error answer, as distribution writes them.
fn error_answer(code: u16) -> (Head, Vec<u8>) {
    let error = match code {
        429 => "TOOMANYREQUESTS",
        401 => "UNAUTHORIZED",
        403 => "DENIED",
        404 => "NOT_FOUND",
        _ => "UNAVAILABLE",
    };
    let body = format!(
        "{{\"errors\":[{{\"code\":\"{error}\",\"message\":\"injected by the images-testkit fault proxy\",\"detail\":null}}]}}\n"
    );
    made_up(code, "application/json; charset=utf-8", body.into_bytes())
}

/// An answer of our own; the registry is not asked.
fn made_up(status: u16, content_type: &str, body: Vec<u8>) -> (Head, Vec<u8>) {
    let head = Head {
        start: format!("HTTP/1.1 {status} {}", http::reason(status)),
        headers: vec![
            ("Content-Type".into(), content_type.to_string()),
            ("Content-Length".into(), body.len().to_string()),
            (
                "Docker-Distribution-Api-Version".into(),
                "registry/2.0".into(),
            ),
        ],
    };
    (head, body)
}

/// Sends one request upstream on a fresh connection and reads the whole
/// answer.
fn relay(
    shared: &Shared,
    request: &Head,
    body: &[u8],
    method: &str,
) -> io::Result<(Head, Vec<u8>)> {
    let upstream = TcpStream::connect(&shared.upstream)?;
    upstream.set_read_timeout(Some(UPSTREAM_TIMEOUT))?;
    upstream.set_write_timeout(Some(UPSTREAM_TIMEOUT))?;
    let mut head = request.clone();
    // `method` may differ from the client's (see `Fault::Sha512DigestHeader`).
    if let Some((_, rest)) = request.start.split_once(' ') {
        head.start = format!("{method} {rest}");
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "expect",
        "content-length",
    ] {
        head.remove(name);
    }
    head.set("Host", &shared.upstream);
    // One request per upstream connection: no pooling to get wrong.
    head.set("Connection", "close");
    if !body.is_empty()
        || request.get("content-length").is_some()
        || method == "POST"
        || method == "PUT"
    {
        head.set("Content-Length", &body.len().to_string());
    }
    let mut writer = upstream.try_clone()?;
    http::write_message(&mut writer, &head, body)?;

    let mut reader = BufReader::new(upstream);
    loop {
        let answer = http::read_head(&mut reader)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "upstream closed without answering",
            )
        })?;
        // Interim answers (100 Continue) are not relayed.
        if http::status_code(&answer) / 100 == 1 {
            continue;
        }
        let body = http::read_response_body(&mut reader, &answer, method)?;
        return Ok((answer, body));
    }
}

/// One page of a tag list: the tags after `last=` in `target`, sorted,
/// at most `per_page`, with a `Link` to the next page when more remain.
fn page_tags(head: &mut Head, body: &[u8], target: &str, per_page: usize) -> Vec<u8> {
    let Ok(mut list) = serde_json::from_slice::<serde_json::Value>(body) else {
        return body.to_vec();
    };
    let mut tags: Vec<String> = list["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let last = query
        .split('&')
        .find_map(|p| p.strip_prefix("last="))
        .unwrap_or("");
    let rest: Vec<String> = tags.into_iter().filter(|t| t.as_str() > last).collect();
    let page: Vec<String> = rest.iter().take(per_page).cloned().collect();
    if rest.len() > page.len() {
        if let Some(end) = page.last() {
            head.headers.push((
                "Link".into(),
                format!("<{path}?n={per_page}&last={end}>; rel=\"next\""),
            ));
        }
    }
    list["tags"] = serde_json::json!(page);
    list.to_string().into_bytes()
}

/// Changes one hex digit, preferably inside the last digest of a manifest,
/// so the body stays valid JSON of the same length and only its hash shows
/// the change.
fn tamper(body: &mut [u8]) {
    let at = find_last(body, b"sha256:")
        .map(|i| i + b"sha256:".len())
        .filter(|&i| i < body.len() && body[i].is_ascii_hexdigit())
        .unwrap_or(body.len() / 2);
    if let Some(byte) = body.get_mut(at) {
        *byte = match *byte {
            b'0' => b'1',
            b if b.is_ascii_hexdigit() => b'0',
            b => b ^ 0x01,
        };
    }
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tamper_keeps_length_and_json() {
        let original = br#"{"digest":"sha256:abc","size":1}"#.to_vec();
        let mut body = original.clone();
        tamper(&mut body);
        assert_eq!(body.len(), original.len());
        assert_ne!(body, original);
        assert_eq!(&body, br#"{"digest":"sha256:0bc","size":1}"#);
    }
}
