//! What refers to a manifest (signatures, attestations): the referrers API
//! (`GET /v2/<name>/referrers/<digest>`) or, where the registry has none,
//! the tag-schema fallback (an OCI index tagged `sha256-<hex>`).

use images_lockfile::{Digest, Reference};
use serde::Deserialize;

use crate::{ResolveError, Resolver, MAX_MANIFEST_BYTES, OCI_INDEX};

/// One manifest that names another as its `subject`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    /// The referring manifest's digest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// What kind of artifact it is (e.g. a sigstore bundle), when it says.
    pub artifact_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    digest: String,
    artifact_type: Option<String>,
}

impl Resolver {
    /// The manifests in `reference`'s repository whose `subject` is
    /// `subject`: from the referrers API, or, when the registry answers it
    /// with 404, from the index tagged `sha256-<hex>` (OCI distribution
    /// spec, "referrers tag schema"). No index there either is no referrer.
    pub async fn referrers(
        &self,
        reference: &Reference,
        subject: &Digest,
    ) -> Result<Vec<Referrer>, ResolveError> {
        let registry = reference.domain();
        let shown = format!("{registry}/{}@{subject}", reference.path());
        let api = format!("/v2/{}/referrers/{subject}", reference.path());
        let fallback = format!(
            "/v2/{}/manifests/{}",
            reference.path(),
            subject.to_string().replacen(':', "-", 1)
        );
        for path in [api, fallback] {
            let answer = self
                .get(
                    reference,
                    &path,
                    &shown,
                    Some(OCI_INDEX),
                    MAX_MANIFEST_BYTES,
                )
                .await;
            match answer {
                Ok(answer) => return parse(&answer.body, registry, &shown),
                Err(ResolveError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(Vec::new())
    }
}

/// The descriptors of a referrers index; one that is not a digest we can
/// check is garbage.
fn parse(body: &[u8], registry: &str, shown: &str) -> Result<Vec<Referrer>, ResolveError> {
    let garbage = |why: String| ResolveError::Registry {
        registry: registry.to_string(),
        status: Some(200),
        message: format!("its referrers of `{shown}` are unusable ({why})"),
        retry_after: None,
    };
    let index: Index = serde_json::from_slice(body).map_err(|e| garbage(e.to_string()))?;
    index
        .manifests
        .into_iter()
        .map(|d| {
            Ok(Referrer {
                digest: Digest::parse(&d.digest).map_err(|e| garbage(e.to_string()))?,
                media_type: d.media_type,
                artifact_type: d.artifact_type,
            })
        })
        .collect()
}
