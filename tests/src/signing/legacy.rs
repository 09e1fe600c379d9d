//! Legacy cosign signatures (`sha256-<hex>.sig`), signed and pushed by the
//! `sigstore` crate.
//!
//! `sigstore`'s `push_signature` replaces the `.sig` manifest instead of
//! appending a layer, so every key signs in one call. The flawed variants
//! are signed by `sigstore` too; only where a flaw cannot be made through
//! its API (a blob that does not hash to its digest) does the harness edit
//! what the registry stores afterwards.

use super::key::SigningKey;
use super::legacy_tag;
use crate::client::{off_runtime, RegistryClient};
use crate::fixture::{media_type, sha256_digest};
use crate::registry::Registry;
use anyhow::{anyhow, bail, Context as _};
use base64::Engine as _;
use sigstore::cosign::constraint::PrivateKeySigner;
use sigstore::cosign::{ClientBuilder, Constraint as _, CosignCapabilities as _, SignatureLayer};
use sigstore::registry::{Auth, ClientConfig, ClientProtocol, OciReference};

/// One way a legacy signature stored under an image's `.sig` tag can be
/// wrong, each on its own; see [`sign_legacy_flawed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyFlaw {
    /// A valid signature of another image: its payload names this digest
    /// (`critical.image.docker-manifest-digest`, and `@digest` in
    /// `docker-reference`), yet it is stored under the signed image's tag.
    PayloadNames(String),
    /// The signature annotation with the last byte of its DER flipped (the
    /// DER stays well-formed; the signature no longer verifies).
    FlippedSignature,
    /// The layer's descriptor names a blob whose bytes, as the registry
    /// serves them, are the signed payload (naming the right digest, and
    /// verifying) but do not hash to the descriptor's digest. The harness
    /// makes it by overwriting that blob in the registry's storage.
    BlobDigestMismatch,
}

/// Signs `manifest_digest` in `repo` of the plain-HTTP registry at
/// `registry_addr` with every key of `keys`, one layer each in this
/// order, and pushes the `.sig` manifest (replacing any there was) with
/// the `sigstore` crate. Returns the digest of the `.sig` manifest as the
/// registry now serves it.
///
/// Each payload names `manifest_digest`, with `docker-reference`
/// `registry_addr/repo@manifest_digest`.
pub fn sign_legacy(
    registry_addr: &str,
    repo: &str,
    manifest_digest: &str,
    keys: &[&SigningKey],
) -> anyhow::Result<String> {
    if keys.is_empty() {
        bail!("sign_legacy: no keys (a .sig manifest without layers signs nothing)");
    }
    let layers = keys
        .iter()
        .map(|key| signed_layer(registry_addr, repo, manifest_digest, key))
        .collect::<anyhow::Result<Vec<_>>>()?;
    push(registry_addr, repo, manifest_digest, layers)
}

/// Like [`sign_legacy`] with one key, but the one signature layer has
/// `flaw`. Returns the digest of the `.sig` manifest now served under
/// `sha256-<hex>.sig` of `manifest_digest`.
pub fn sign_legacy_flawed(
    registry: &Registry,
    repo: &str,
    manifest_digest: &str,
    key: &SigningKey,
    flaw: LegacyFlaw,
) -> anyhow::Result<String> {
    let addr = registry.addr();
    match flaw {
        LegacyFlaw::PayloadNames(other) => {
            let layer = signed_layer(&addr, repo, &other, key)?;
            push(&addr, repo, manifest_digest, vec![layer])
        }
        LegacyFlaw::FlippedSignature => {
            let mut layer = signed_layer(&addr, repo, manifest_digest, key)?;
            let base64 = base64::engine::general_purpose::STANDARD;
            let signature = layer
                .signature
                .as_deref()
                .ok_or_else(|| anyhow!("sigstore left the layer unsigned"))?;
            let mut der = base64
                .decode(signature)
                .context("sigstore's signature is not base64")?;
            let last = der
                .last_mut()
                .ok_or_else(|| anyhow!("sigstore made an empty signature"))?;
            *last ^= 0x01;
            layer.signature = Some(base64.encode(der));
            push(&addr, repo, manifest_digest, vec![layer])
        }
        LegacyFlaw::BlobDigestMismatch => {
            sign_legacy(&addr, repo, manifest_digest, &[key])?;
            mismatch_blob(registry, repo, manifest_digest)
        }
    }
}

/// A layer signed by `sigstore`: its SimpleSigning payload for `names`,
/// signed with `key`.
fn signed_layer(
    registry_addr: &str,
    repo: &str,
    names: &str,
    key: &SigningKey,
) -> anyhow::Result<SignatureLayer> {
    let image = OciReference::with_digest(
        registry_addr.to_string(),
        repo.to_string(),
        names.to_string(),
    );
    let mut layer = SignatureLayer::new_unsigned(&image, names)
        .with_context(|| format!("building the sigstore payload for {image}"))?;
    let signed = PrivateKeySigner::new_with_signer(key.signer()?)
        .add_constraint(&mut layer)
        .context("signing the payload with sigstore")?;
    if !signed {
        bail!("sigstore did not sign the payload for {image}");
    }
    Ok(layer)
}

/// Pushes `layers` as the `.sig` manifest of `manifest_digest` with
/// `sigstore`'s `push_signature`; returns the digest the registry serves
/// under the tag.
fn push(
    registry_addr: &str,
    repo: &str,
    manifest_digest: &str,
    layers: Vec<SignatureLayer>,
) -> anyhow::Result<String> {
    let tag = legacy_tag(manifest_digest);
    let target = OciReference::with_tag(registry_addr.to_string(), repo.to_string(), tag.clone());
    block_on(async move {
        let mut client = ClientBuilder::default()
            .with_oci_client_config(ClientConfig {
                protocol: ClientProtocol::Http,
                ..Default::default()
            })
            .build()?;
        client
            .push_signature(None, &Auth::Anonymous, &target, layers)
            .await
    })?
    .with_context(|| format!("sigstore pushing {registry_addr}/{repo}:{tag}"))?;
    served_digest(&RegistryClient::new(registry_addr)?, repo, &tag)
}

/// Makes the first layer of the `.sig` manifest of `manifest_digest` name
/// a blob that serves the signed payload without hashing to its digest:
/// uploads a placeholder of the payload's length, overwrites the
/// placeholder's file in the registry's storage with the payload, and
/// points the layer at it. Returns the new `.sig` manifest's digest.
fn mismatch_blob(registry: &Registry, repo: &str, manifest_digest: &str) -> anyhow::Result<String> {
    let client = registry.client();
    let tag = legacy_tag(manifest_digest);
    let served = client.manifest(repo, &tag)?;
    if served.status != 200 {
        bail!(
            "{repo}:{tag} answers {} after sigstore pushed it",
            served.status
        );
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&served.body).context("the .sig manifest is not JSON")?;
    let payload_digest = manifest["layers"][0]["digest"]
        .as_str()
        .ok_or_else(|| anyhow!("the .sig manifest has no layer digest: {manifest}"))?
        .to_string();
    let payload = client.blob(repo, &payload_digest)?;

    // Same length, other bytes, so only the digest differs.
    let mut placeholder = payload.clone();
    let first = placeholder
        .first_mut()
        .ok_or_else(|| anyhow!("sigstore pushed an empty payload"))?;
    *first ^= 0x01;
    let placeholder_digest = sha256_digest(&placeholder);
    client.upload_blob(repo, &placeholder, &placeholder_digest)?;
    let hex = placeholder_digest.trim_start_matches("sha256:");
    let file = registry
        .storage()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data");
    if !file.is_file() {
        bail!("the registry did not store the blob at {}", file.display());
    }
    std::fs::write(&file, &payload).with_context(|| format!("overwriting {}", file.display()))?;

    let text = String::from_utf8(served.body).context("the .sig manifest is not UTF-8")?;
    let rewritten = text.replace(&payload_digest, &placeholder_digest);
    client.put_manifest(repo, &tag, media_type::OCI_MANIFEST, rewritten.as_bytes())?;
    served_digest(client, repo, &tag)
}

/// The digest the registry names `repo:tag` by.
fn served_digest(client: &RegistryClient, repo: &str, tag: &str) -> anyhow::Result<String> {
    let served = client.head_manifest(repo, tag)?;
    match (served.status, served.digest_header) {
        (200, Some(digest)) => Ok(digest),
        (status, digest) => bail!("{repo}:{tag}: HEAD answered {status}, digest {digest:?}"),
    }
}

/// Runs `future` to completion on a runtime of its own, on a thread
/// outside any runtime the caller is in (`sigstore` is async; the harness
/// is blocking).
fn block_on<F>(future: F) -> anyhow::Result<F::Output>
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    off_runtime(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting a tokio runtime for sigstore")?;
        Ok(runtime.block_on(future))
    })
}
