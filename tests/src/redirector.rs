//! An HTTPS front for a registry that sends its manifests elsewhere: what
//! a registry, or a man in the middle of its CDN set-up, does when it
//! redirects a manifest from HTTPS to plain HTTP.
//!
//! The fault proxy speaks plain HTTP only, and our registries' TLS is the
//! registry's own, which never redirects; so this small TLS server stands
//! in front: `GET /v2/` is answered `200 {}` (an open registry), every
//! other request with `307` to the same path under `to`.
//!
//! ```no_run
//! use images_testkit::{FaultProxy, HttpsRedirector, Registry, TestCa};
//! let registry = Registry::start()?;
//! let plain = FaultProxy::start(&registry.addr())?;
//! let ca = TestCa::new("images-testkit CA")?;
//! let front = HttpsRedirector::start(&ca.server_files()?, &format!("http://{}", plain.addr()))?;
//! // images.toml: [registries."<front.addr()>"] ca = "<ca.ca_path()>"
//! # anyhow::Ok(())
//! ```

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;

use crate::http::{self, Head};
use crate::poison::lock;
use crate::tls::ServerTls;

/// A TLS server on a free 127.0.0.1 port that redirects every request but
/// the ping to `to`; stops on drop.
#[derive(Debug)]
pub struct HttpsRedirector {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    addr: String,
    to: String,
    log: Mutex<Vec<String>>,
    stopping: AtomicBool,
}

impl HttpsRedirector {
    /// Serves TLS with `tls`'s certificate, redirecting to `to` (scheme and
    /// authority, e.g. `http://127.0.0.1:PORT`).
    pub fn start(tls: &ServerTls, to: &str) -> anyhow::Result<HttpsRedirector> {
        let config = tls.rustls_config()?;
        let listener =
            TcpListener::bind("127.0.0.1:0").context("binding the redirector to 127.0.0.1")?;
        let shared = Arc::new(Shared {
            addr: listener
                .local_addr()
                .context("reading the redirector's address")?
                .to_string(),
            to: to.to_string(),
            log: Mutex::new(Vec::new()),
            stopping: AtomicBool::new(false),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("https-redirector".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if shared.stopping.load(Ordering::SeqCst) {
                            return;
                        }
                        let Ok(stream) = stream else { continue };
                        let (shared, config) = (Arc::clone(&shared), Arc::clone(&config));
                        // A failed spawn drops one connection.
                        let _ = std::thread::Builder::new()
                            .name("https-redirector-conn".into())
                            .spawn(move || {
                                let _ = serve(&shared, config, stream);
                            });
                    }
                })
                .context("starting the redirector thread")?
        };
        Ok(HttpsRedirector {
            shared,
            accept: Some(accept),
        })
    }

    /// `127.0.0.1:PORT`: the registry name to give the client under test.
    pub fn addr(&self) -> String {
        self.shared.addr.clone()
    }

    /// Every request seen so far, as `METHOD target`.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.shared.log).clone()
    }
}

impl Drop for HttpsRedirector {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.shared.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn serve(
    shared: &Shared,
    config: Arc<rustls::ServerConfig>,
    stream: TcpStream,
) -> anyhow::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let connection = rustls::ServerConnection::new(config)?;
    let mut reader = BufReader::new(rustls::StreamOwned::new(connection, stream));
    while let Some(request) = http::read_head(&mut reader)? {
        let _ = http::read_request_body(&mut reader, &request)?;
        let mut parts = request.start.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        lock(&shared.log).push(format!("{method} {target}"));
        let (status, extra, body): (u16, Vec<(String, String)>, &[u8]) = if target == "/v2/" {
            (200, Vec::new(), b"{}")
        } else {
            (
                307,
                vec![("Location".into(), format!("{}{target}", shared.to))],
                b"",
            )
        };
        let mut head = Head {
            start: format!("HTTP/1.1 {status} {}", http::reason(status)),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Content-Length".into(), body.len().to_string()),
                (
                    "Docker-Distribution-Api-Version".into(),
                    "registry/2.0".into(),
                ),
            ],
        };
        head.headers.extend(extra);
        let stream = reader.get_mut();
        let body = if method == "HEAD" { &b""[..] } else { body };
        http::write_message(stream, &head, body)?;
        stream.flush()?;
    }
    Ok(())
}
