//! Cosign signatures in the test registry, made by implementations we did
//! not write, so that tests of `images` check its verification against
//! real signers rather than against itself.
//!
//! - Legacy `sha256-<hex>.sig` signatures: the Rust `sigstore` crate
//!   ([`sign_legacy`], and [`sign_legacy_flawed`] for the ways a signature
//!   can be wrong).
//! - Cosign v3 bundles, attached as OCI 1.1 referrers (on distribution 2.8
//!   through the tag-schema fallback index `sha256-<hex>`): sigstore-js,
//!   `@sigstore/sign` and `@sigstore/oci`, run with Node
//!   ([`sign_bundle`], [`sign_bundle_with`]); `@sigstore/verify` checks
//!   them ([`verify_bundle`]).
//!
//! Keys are P-256, made fresh per run by the `sigstore` crate
//! ([`SigningKey::generate`]). Formats: /work/shared/SIGNATURES.md.
//!
//! ```no_run
//! use images_testkit::signing::{sign_bundle, sign_legacy, SigningKey};
//! use images_testkit::{Fixture, Kind, Registry};
//!
//! let registry = Registry::start()?;
//! let pushed = registry.push("acme/api", "v1", &Fixture::new(Kind::OciManifest, "api-1"))?;
//! let key = SigningKey::generate()?;
//! // images.toml: [signers.release] keys = ["release.pub"]
//! std::fs::write("release.pub", key.public_pem())?;
//! let sig = sign_legacy(&registry.addr(), "acme/api", &pushed.digest, &[&key])?;
//! let referrer = sign_bundle(&registry.addr(), "acme/api", &pushed.digest, &key)?;
//! // ... `images lock` must accept, and record key.fingerprint() and sig or referrer ...
//! # anyhow::Ok(())
//! ```
//!
//! The bundle half needs `node` (20.17 or later) and the npm packages
//! installed by `scripts/install-deps.sh`; without them it fails with
//! [`MISSING_NODE`] or [`MISSING_SIGSTORE_JS`], never skips.

mod bundle;
mod key;
mod legacy;

pub use bundle::{
    sign_bundle, sign_bundle_with, sigstore_js_dir, verify_bundle, BundleOptions,
    VerifiedStatement, MISSING_NODE, MISSING_SIGSTORE_JS,
};
pub use key::SigningKey;
pub use legacy::{sign_legacy, sign_legacy_flawed, LegacyFlaw};

/// Media type of a legacy signature layer (the payload blob).
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// Layer annotation holding a legacy signature (standard base64 of DER).
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// Media type (and `artifactType`) of a cosign v3 bundle.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// The predicate type of a cosign v3 signature; any other predicate type
/// makes an attestation, not a signature of the image.
pub const COSIGN_SIGN_V1: &str = "https://sigstore.dev/cosign/sign/v1";

/// The predicate type of an SPDX SBOM attestation, for "an attestation is
/// not a signature" tests.
pub const SPDX_PREDICATE: &str = "https://spdx.dev/Document";

/// `sha256-<hex>.sig`: the tag a legacy signature of `digest` is stored
/// under, in the image's own repository.
pub fn legacy_tag(digest: &str) -> String {
    format!("{}.sig", fallback_tag(digest))
}

/// `sha256-<hex>`: the referrers tag-schema fallback tag of `digest`, an
/// OCI index of the referrers when the registry has no referrers API.
pub fn fallback_tag(digest: &str) -> String {
    digest.replacen(':', "-", 1)
}
