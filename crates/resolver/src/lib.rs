//! Resolve image references to content digests against OCI registries.
//!
//! This crate is the only part of `images` that talks to the network. It
//! speaks the distribution protocol itself on `reqwest`: the digest of every
//! manifest body is computed here and compared with what the registry
//! claims, bodies are read in a stream up to a cap, requests are bounded in
//! time and retried with backoff that honours `Retry-After`, redirects never
//! downgrade to plain HTTP, and each registry gets its own transport
//! settings (plain HTTP only for loopback or `insecure` registries, an extra
//! CA where configured).
//!
//! ```no_run
//! # async fn demo() -> Result<(), images_resolver::ResolveError> {
//! use images_lockfile::{Platforms, Reference};
//! use images_resolver::{Resolver, ResolverConfig};
//!
//! let resolver = Resolver::new(ResolverConfig::default());
//! let reference = Reference::parse("127.0.0.1:5000/acme/api:v1.2.11").expect("valid reference");
//! let resolved = resolver.resolve(&reference, &Platforms::new()).await?;
//! println!("{} -> {}", reference, resolved.digest);
//! # Ok(())
//! # }
//! ```

mod auth;
mod blob;
mod challenge;
mod client;
mod error;
pub mod grade;
mod media_type;
mod referrers;
mod resolve;
mod retry;
pub mod signature;
mod signatures;
mod tags;
mod token;
mod token_sharing;
mod transport;
mod verify;

pub use auth::{Credential, CredentialStore};
pub use client::{RegistrySettings, ResolverConfig};
pub use error::{ErrorClass, ResolveError};
pub use media_type::{
    DOCKER_MANIFEST_LIST, DOCKER_MANIFEST_V2, MANIFEST_MEDIA_TYPES, MAX_MANIFEST_BYTES, OCI_INDEX,
    OCI_MANIFEST,
};
pub use referrers::Referrer;
pub use resolve::{Resolved, Resolver};
pub use retry::RetryPolicy;
pub use signatures::{best, check_signers, Content, SignatureArtifact, SignerCheck};
pub use verify::{Finding, FindingKind};
