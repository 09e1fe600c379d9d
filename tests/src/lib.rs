//! Test harness for `images`: a real registry on loopback, deterministic
//! image fixtures pushed byte-exact, and a fault-injecting proxy.
//!
//! Everything is blocking (std threads and `reqwest::blocking`, each request
//! on its own thread) so tests need no async runtime, and tests that have
//! one can still use it. Nothing here talks to anything but 127.0.0.1.
//!
//! ```no_run
//! use images_testkit::{Fixture, Kind, Registry};
//!
//! let registry = Registry::start()?;
//! let pushed = registry.push("acme/api", "v1.2.11", &Fixture::new(Kind::DockerV2S2, "api-1"))?;
//! // ... run `images lock` against registry.addr(), expect pushed.digest ...
//! registry.push("acme/api", "v1.2.11", &Fixture::new(Kind::DockerV2S2, "attacker"))?;
//! // ... `images verify` must now report the tag as moved ...
//! # anyhow::Ok(())
//! ```
//!
//! The registry needs Debian's `docker-registry` on PATH (`scripts/install-deps.sh`);
//! without it [`Registry::start`] fails with [`MISSING_REGISTRY`], so tests
//! fail loudly instead of skipping.
//!
//! [`signing`] signs images in that registry with signers we did not write
//! (the `sigstore` crate for legacy `.sig` signatures, sigstore-js for
//! cosign v3 bundles).

mod client;
mod demo;
mod fixture;
mod http;
mod latency;
mod layer;
mod poison;
mod proxy;
mod redirector;
mod registry;
pub mod signing;
mod tls;
mod token_server;

pub use client::{Pushed, RegistryClient, Served};
pub use demo::{push_demo, DemoImage, DEMO_IMAGES, DEMO_REGISTRY};
pub use fixture::{
    media_type, sha256_digest, Fixture, Kind, ACCEPT_ALL_MANIFESTS, DEFAULT_PLATFORMS,
};
pub use latency::LatencyProxy;
pub use proxy::{Fault, FaultProxy};
pub use redirector::HttpsRedirector;
pub use registry::{find_on_path, Registry, RegistryOptions, MISSING_REGISTRY};
pub use tls::{ServerTls, TestCa};
pub use token_server::{Flaw, TokenAuth, TokenRequest, TokenServer, TOKEN_ISSUER, TOKEN_SERVICE};
