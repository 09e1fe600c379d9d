//! Finding what claims to sign a digest, in both cosign formats, and
//! judging it for one signer: the `.sig` manifest of legacy signatures,
//! and v3 bundles among the digest's referrers (the referrers API or its
//! tag-schema fallback). The checks themselves are in [`crate::signature`].

use images_lockfile::{Digest, Reference};
use serde::Deserialize;

use crate::signature::{
    check_bundle, check_simple_signing, TrustedKey, Verdict, BUNDLE_MEDIA_TYPE,
    SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE,
};
use crate::{ResolveError, Resolver, MAX_MANIFEST_BYTES, OCI_MANIFEST};

/// The largest signature payload or bundle read: they are a few KiB.
const MAX_SIGNATURE_BYTES: usize = 1024 * 1024;

/// Signature layers read from one `.sig` manifest; cosign appends one per
/// signature, so a long list is someone filling the tag.
const MAX_LAYERS: usize = 64;

/// A manifest that carries signatures of a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureArtifact {
    /// The manifest's digest: the `.sig` manifest, or the bundle's
    /// referrer manifest. What the lock records.
    pub digest: Digest,
    /// What it holds.
    pub content: Content,
}

/// What a signature artifact holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// Legacy simple-signing layers: each payload (checked against its
    /// layer digest) with its signature annotation.
    Legacy(Vec<(Vec<u8>, String)>),
    /// A sigstore bundle.
    Bundle(Vec<u8>),
    /// A layer or blob that could not be read as either: why.
    Unreadable(String),
}

impl SignatureArtifact {
    /// What this artifact proves about `digest` for a signer with `keys`.
    pub fn judge(&self, digest: &Digest, keys: &[TrustedKey]) -> Verdict {
        match &self.content {
            Content::Legacy(layers) => {
                let verdicts: Vec<Verdict> = layers
                    .iter()
                    .map(|(payload, signature)| {
                        check_simple_signing(payload, signature, digest, keys)
                    })
                    .collect();
                best(verdicts)
            }
            Content::Bundle(bundle) => check_bundle(bundle, digest, keys),
            Content::Unreadable(why) => Verdict::Malformed(why.clone()),
        }
    }
}

/// The verdict that says most: a verified one, else the most specific
/// refusal (another digest, broken, an attestation, another key, garbage).
pub fn best(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    let rank = |v: &Verdict| match v {
        Verdict::Verified { .. } => 0,
        Verdict::OtherDigest { .. } => 1,
        Verdict::Broken => 2,
        Verdict::OtherKey {
            fingerprint: Some(_),
        } => 3,
        Verdict::OtherKey { fingerprint: None } => 4,
        Verdict::NotASignature { .. } => 5,
        Verdict::Malformed(_) => 6,
    };
    verdicts
        .into_iter()
        .min_by_key(rank)
        .unwrap_or(Verdict::Malformed("no signature layer".to_owned()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageManifest {
    #[serde(default)]
    layers: Vec<Layer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Layer {
    media_type: String,
    digest: String,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

impl Resolver {
    /// Every artifact in `reference`'s repository that claims to sign
    /// `digest`: the legacy `sha256-<hex>.sig` manifest, if any, and each
    /// referrer whose artifact type is a sigstore bundle. None at all is
    /// an empty list, not an error.
    pub async fn signature_artifacts(
        &self,
        reference: &Reference,
        digest: &Digest,
    ) -> Result<Vec<SignatureArtifact>, ResolveError> {
        let mut found = Vec::new();
        let tag = format!("{}.sig", digest.to_string().replacen(':', "-", 1));
        if let Some((manifest_digest, body)) = self.raw_manifest(reference, &tag).await? {
            found.push(SignatureArtifact {
                digest: manifest_digest,
                content: self.legacy_layers(reference, &body).await?,
            });
        }
        for referrer in self.referrers(reference, digest).await? {
            if referrer.artifact_type.as_deref() != Some(BUNDLE_MEDIA_TYPE) {
                continue;
            }
            let Some((manifest_digest, body)) = self
                .raw_manifest(reference, &referrer.digest.to_string())
                .await?
            else {
                continue;
            };
            if manifest_digest != referrer.digest {
                return Err(ResolveError::Tampered {
                    reference: format!(
                        "{}/{}@{}",
                        reference.domain(),
                        reference.path(),
                        referrer.digest
                    ),
                    expected: referrer.digest.to_string(),
                    actual: manifest_digest.to_string(),
                });
            }
            let content = self.bundle_layer(reference, &body).await?;
            found.push(SignatureArtifact {
                digest: manifest_digest,
                content,
            });
        }
        Ok(found)
    }

    /// A manifest by tag or digest, as bytes with their sha256; `None`
    /// when the registry has no such manifest.
    async fn raw_manifest(
        &self,
        reference: &Reference,
        tag_or_digest: &str,
    ) -> Result<Option<(Digest, Vec<u8>)>, ResolveError> {
        let path = format!("/v2/{}/manifests/{tag_or_digest}", reference.path());
        let about = format!(
            "{}/{}:{tag_or_digest}",
            reference.domain(),
            reference.path()
        );
        let answer = self
            .get(
                reference,
                &path,
                &about,
                Some(OCI_MANIFEST),
                MAX_MANIFEST_BYTES,
            )
            .await;
        match answer {
            Ok(answer) => Ok(Some((Digest::sha256_of(&answer.body), answer.body))),
            Err(ResolveError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn legacy_layers(
        &self,
        reference: &Reference,
        body: &[u8],
    ) -> Result<Content, ResolveError> {
        let manifest = match image_manifest(body, "the .sig manifest") {
            Ok(manifest) => manifest,
            Err(why) => return Ok(Content::Unreadable(why)),
        };
        let mut layers = Vec::new();
        for layer in manifest
            .layers
            .iter()
            .filter(|l| l.media_type == SIMPLE_SIGNING_MEDIA_TYPE)
            .take(MAX_LAYERS)
        {
            let Some(signature) = layer.annotations.get(SIGNATURE_ANNOTATION) else {
                continue;
            };
            match self.layer_blob(reference, layer, "payload").await? {
                Ok(payload) => layers.push((payload, signature.clone())),
                Err(why) => return Ok(Content::Unreadable(why)),
            }
        }
        if layers.is_empty() {
            return Ok(Content::Unreadable(
                "the .sig manifest has no signature layer".to_owned(),
            ));
        }
        Ok(Content::Legacy(layers))
    }

    async fn bundle_layer(
        &self,
        reference: &Reference,
        body: &[u8],
    ) -> Result<Content, ResolveError> {
        let manifest = match image_manifest(body, "the referrer") {
            Ok(manifest) => manifest,
            Err(why) => return Ok(Content::Unreadable(why)),
        };
        let Some(layer) = manifest
            .layers
            .iter()
            .find(|l| l.media_type == BUNDLE_MEDIA_TYPE)
        else {
            return Ok(Content::Unreadable(
                "the referrer has no bundle layer".to_owned(),
            ));
        };
        Ok(match self.layer_blob(reference, layer, "bundle").await? {
            Ok(bundle) => Content::Bundle(bundle),
            Err(why) => Content::Unreadable(why),
        })
    }

    /// A signature layer's blob, checked against the layer's digest. The
    /// inner `Err` says why it proves nothing (a bad digest, or bytes that
    /// do not hash to it); the outer one is a registry that did not answer.
    async fn layer_blob(
        &self,
        reference: &Reference,
        layer: &Layer,
        what: &str,
    ) -> Result<Result<Vec<u8>, String>, ResolveError> {
        let Ok(digest) = Digest::parse(&layer.digest) else {
            return Ok(Err(format!(
                "the {what} layer's digest `{}` is not a digest",
                crate::signature::shown(&layer.digest)
            )));
        };
        match self.blob(reference, &digest, MAX_SIGNATURE_BYTES).await {
            Ok(bytes) => Ok(Ok(bytes)),
            Err(ResolveError::Tampered { .. }) => Ok(Err(format!(
                "the {what} blob does not hash to its layer digest {digest}"
            ))),
            Err(e) => Err(e),
        }
    }
}

/// An image manifest's layers, or why `what` is not one.
fn image_manifest(body: &[u8], what: &str) -> Result<ImageManifest, String> {
    serde_json::from_slice(body).map_err(|e| format!("{what} is not an image manifest: {e}"))
}

/// Whether one required signer signed a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerCheck {
    /// A signature verified: the key and the artifact that carried it.
    Signed {
        /// The key's fingerprint.
        key: Digest,
        /// The `.sig` or referrer manifest.
        artifact: Digest,
    },
    /// Nothing claims to sign the digest at all.
    Unsigned,
    /// Something does, but not validly for this signer: the most telling
    /// verdict among what was found.
    Refused(Verdict),
}

impl SignerCheck {
    /// "signed by acme" / "not signed by acme: found …", for messages.
    pub fn describe(&self, signer: &str) -> String {
        match self {
            SignerCheck::Signed { .. } => format!("signed by {signer}"),
            SignerCheck::Unsigned => format!("not signed by {signer}: no signature found"),
            SignerCheck::Refused(verdict) => {
                format!("not signed by {signer}: found {}", verdict.describe(signer))
            }
        }
    }
}

/// Judges what was found for each signer: `signers` holds each required
/// signer's name and keys. A plain function over what was fetched, so it
/// is the same decision for `lock` and `verify`.
pub fn check_signers(
    artifacts: &[SignatureArtifact],
    digest: &Digest,
    signers: &[(String, Vec<TrustedKey>)],
) -> Vec<(String, SignerCheck)> {
    signers
        .iter()
        .map(|(name, keys)| {
            if artifacts.is_empty() {
                return (name.clone(), SignerCheck::Unsigned);
            }
            let judged: Vec<(Verdict, &SignatureArtifact)> = artifacts
                .iter()
                .map(|a| (a.judge(digest, keys), a))
                .collect();
            let signed = judged.iter().find_map(|(v, a)| match v {
                Verdict::Verified { key } => Some(SignerCheck::Signed {
                    key: key.clone(),
                    artifact: a.digest.clone(),
                }),
                _ => None,
            });
            let check = signed
                .unwrap_or_else(|| SignerCheck::Refused(best(judged.into_iter().map(|(v, _)| v))));
            (name.clone(), check)
        })
        .collect()
}
