//! Fetching a blob (`GET /v2/<name>/blobs/<digest>`), checked against its digest.

use images_lockfile::{Digest, Reference};

use crate::{ResolveError, Resolver};

impl Resolver {
    /// The blob `digest` of `reference`'s repository (a config, a
    /// signature payload), at most `cap` bytes, read in a stream and cut
    /// there. Registries usually redirect blobs to a CDN; the redirect rules
    /// hold (no HTTPS to plain HTTP, credentials only to the registry), and
    /// the bytes must hash to `digest` whoever served them.
    pub async fn blob(
        &self,
        reference: &Reference,
        digest: &Digest,
        cap: usize,
    ) -> Result<Vec<u8>, ResolveError> {
        let shown = format!("{}/{}@{digest}", reference.domain(), reference.path());
        let path = format!("/v2/{}/blobs/{digest}", reference.path());
        let answer = self.get(reference, &path, &shown, None, cap).await?;
        if !digest.matches(&answer.body) {
            return Err(ResolveError::Tampered {
                reference: shown,
                expected: digest.to_string(),
                actual: Digest::sha256_of(&answer.body).to_string(),
            });
        }
        Ok(answer.body)
    }
}
