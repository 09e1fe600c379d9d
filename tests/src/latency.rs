//! A TCP proxy that delays every chunk by a fixed time in each direction:
//! a registry tens of milliseconds away, on loopback. It relays bytes
//! without reading them, so TLS and HTTP/2 pass through, and it counts
//! the connections a client opens.
//!
//! The delay is a delay line, not a sleep per chunk: each chunk is
//! forwarded `delay` after it arrived, however many are on the way, as on
//! a real link (latency without a bandwidth limit).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// A latency proxy on a free 127.0.0.1 port in front of `upstream`; stops
/// accepting on drop (connections already open end with their peers).
#[derive(Debug)]
pub struct LatencyProxy {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    addr: String,
    upstream: String,
    /// The delay each way, in microseconds; changeable while running.
    delay_us: Arc<AtomicU64>,
    connections: AtomicU64,
    stopping: AtomicBool,
}

impl LatencyProxy {
    /// Forwards to `upstream` (`host:port`), each chunk `delay` late in
    /// each direction (so a round trip costs twice `delay`).
    pub fn start(upstream: &str, delay: Duration) -> anyhow::Result<LatencyProxy> {
        let listener =
            TcpListener::bind("127.0.0.1:0").context("binding the latency proxy to 127.0.0.1")?;
        let shared = Arc::new(Shared {
            addr: listener
                .local_addr()
                .context("reading the latency proxy's address")?
                .to_string(),
            upstream: upstream.to_string(),
            delay_us: Arc::new(AtomicU64::new(micros(delay))),
            connections: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("latency-proxy".into())
                .spawn(move || {
                    for client in listener.incoming() {
                        if shared.stopping.load(Ordering::SeqCst) {
                            return;
                        }
                        let Ok(client) = client else { continue };
                        shared.connections.fetch_add(1, Ordering::SeqCst);
                        let Ok(server) = TcpStream::connect(&shared.upstream) else {
                            continue;
                        };
                        let _ = client.set_nodelay(true);
                        let _ = server.set_nodelay(true);
                        let (Ok(c), Ok(s)) = (client.try_clone(), server.try_clone()) else {
                            continue;
                        };
                        delay_line(client, s, Arc::clone(&shared.delay_us));
                        delay_line(server, c, Arc::clone(&shared.delay_us));
                    }
                })
                .context("starting the latency proxy thread")?
        };
        Ok(LatencyProxy {
            shared,
            accept: Some(accept),
        })
    }

    /// `127.0.0.1:PORT`: where the client under test connects.
    pub fn addr(&self) -> String {
        self.shared.addr.clone()
    }

    /// Changes the delay for every chunk read from now on (e.g. none while
    /// a benchmark sets up, then the link it measures).
    pub fn set_delay(&self, delay: Duration) {
        self.shared.delay_us.store(micros(delay), Ordering::SeqCst);
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.shared.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn micros(delay: Duration) -> u64 {
    u64::try_from(delay.as_micros()).unwrap_or(u64::MAX)
}

/// Copies `from` to `to`, each chunk `delay_us` after it was read; at the
/// end of `from`, shuts down writing to `to`.
fn delay_line(mut from: TcpStream, mut to: TcpStream, delay_us: Arc<AtomicU64>) {
    let (send, receive) = mpsc::channel::<(Instant, Vec<u8>)>();
    let reader = std::thread::Builder::new()
        .name("latency-read".into())
        .spawn(move || {
            let mut buffer = vec![0u8; 64 * 1024];
            while let Ok(n) = from.read(&mut buffer) {
                let delay = Duration::from_micros(delay_us.load(Ordering::SeqCst));
                if n == 0
                    || send
                        .send((Instant::now() + delay, buffer[..n].to_vec()))
                        .is_err()
                {
                    break;
                }
            }
        });
    if reader.is_err() {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("latency-write".into())
        .spawn(move || {
            for (due, chunk) in receive {
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                if to.write_all(&chunk).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_pass_unchanged_a_round_trip_late_and_connections_are_counted() {
        let echo = TcpListener::bind("127.0.0.1:0").expect("bind");
        let upstream = echo.local_addr().expect("addr").to_string();
        std::thread::spawn(move || {
            for stream in echo.incoming().flatten() {
                let mut reader = stream.try_clone().expect("clone");
                let mut writer = stream;
                std::thread::spawn(move || std::io::copy(&mut reader, &mut writer));
            }
        });
        let proxy = LatencyProxy::start(&upstream, Duration::from_millis(30)).expect("proxy");
        let mut client = TcpStream::connect(proxy.addr()).expect("connect");
        let started = Instant::now();
        client.write_all(b"ping over a slow link").expect("write");
        let mut answer = [0u8; 21];
        client.read_exact(&mut answer).expect("read");
        assert_eq!(&answer, b"ping over a slow link");
        assert!(started.elapsed() >= Duration::from_millis(60));
        assert_eq!(proxy.connections(), 1);
    }
}
