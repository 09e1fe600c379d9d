//! Checking cosign signatures of a digest: the cryptography and the
//! payloads, for both formats (see SIGNATURES.md in the design notes).
//!
//! - Legacy `.sig`: ECDSA P-256 / SHA-256 over the exact simple-signing
//!   payload blob; the payload's `critical.image.docker-manifest-digest`
//!   must be the digest being checked.
//! - v3 bundle: ECDSA P-256 / SHA-256 over the DSSE pre-authentication
//!   encoding of an in-toto statement; the statement's predicate type must
//!   be cosign's signature type and one subject must be the digest.
//!
//! The fetching (tags, referrers, blobs) is the resolver's; these functions
//! take bytes and say what they prove, so they are tested on their own.

use base64::Engine as _;
use images_lockfile::Digest;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::Deserialize;

/// The predicate type of a cosign signature in a v3 bundle; other types
/// are attestations (SBOMs, provenance), not signatures.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The media type of a simple-signing payload layer in a `.sig` manifest.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation holding a legacy signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The artifact type and layer media type of a v3 bundle.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// The length of the DER prefix of a P-256 SubjectPublicKeyInfo before
/// its 65-byte point (see `images_lockfile::read_public_key_pem`).
const SPKI_PREFIX_LEN: usize = 26;

/// A public key a signer trusts, ready to verify with.
#[derive(Clone, Debug)]
pub struct TrustedKey {
    /// The signer's name in images.toml.
    pub signer: String,
    /// `sha256:` + hex of the SubjectPublicKeyInfo DER.
    pub fingerprint: Digest,
    key: VerifyingKey,
}

impl TrustedKey {
    /// A key from its SubjectPublicKeyInfo DER, as images.toml's reader
    /// returns it; `None` when the point is not on the curve.
    pub fn from_spki_der(signer: &str, der: &[u8]) -> Option<TrustedKey> {
        let point = der.get(SPKI_PREFIX_LEN..)?;
        let key = VerifyingKey::from_sec1_bytes(point).ok()?;
        Some(TrustedKey {
            signer: signer.to_owned(),
            fingerprint: Digest::sha256_of(der),
            key,
        })
    }

    fn verifies(&self, message: &[u8], signature: &Signature) -> bool {
        self.key.verify(message, signature).is_ok()
    }

    /// The hint a keyed bundle carries: base64 of the sha256 of the key.
    fn hint(&self) -> String {
        let bytes = hex::decode(self.fingerprint.hex()).unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}

/// What one signature says about the digest it was checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Verifies with this signer's key and names the digest.
    Verified {
        /// The key that verified.
        key: Digest,
    },
    /// No key of the signer verifies it. For a bundle whose key hint names
    /// another key, that key's fingerprint.
    OtherKey {
        /// `sha256:…` of the key the bundle says it was made with, if it says.
        fingerprint: Option<String>,
    },
    /// A key of the signer's is the one named, but the signature does not
    /// verify: the signature or the payload was changed.
    Broken,
    /// Verifies, but the payload names another digest (a signature copied
    /// from another image).
    OtherDigest {
        /// What the payload names.
        named: String,
    },
    /// A bundle of another predicate type: an attestation, not a signature.
    NotASignature {
        /// Its predicate type.
        predicate_type: String,
    },
    /// Not a signature at all: unreadable base64, JSON or DER.
    Malformed(String),
}

impl Verdict {
    /// How the verdict reads after "found instead:" in a refusal.
    pub fn describe(&self, signer: &str) -> String {
        match self {
            Verdict::Verified { key } => format!("a valid signature by {signer} ({key})"),
            Verdict::OtherKey { fingerprint: Some(f) } => {
                format!("a signature by another key ({f}), not one of {signer}'s")
            }
            Verdict::OtherKey { fingerprint: None } => {
                format!("a signature that no key of {signer} verifies (another key, or a broken signature)")
            }
            Verdict::Broken => format!("a signature by {signer}'s key that does not verify (the signature or its payload was changed)"),
            Verdict::OtherDigest { named } => {
                format!("a signature by {signer} whose payload names another digest ({named})")
            }
            Verdict::NotASignature { predicate_type } => {
                format!("an attestation of type `{predicate_type}`, which is not a signature")
            }
            Verdict::Malformed(why) => format!("a malformed signature ({why})"),
        }
    }
}

#[derive(Deserialize)]
struct SimpleSigning {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    image: CriticalImage,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct CriticalImage {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// Checks a legacy cosign signature: `payload` is the layer blob (already
/// checked against its layer digest), `signature_b64` the layer's
/// `dev.cosignproject.cosign/signature` annotation.
pub fn check_simple_signing(
    payload: &[u8],
    signature_b64: &str,
    digest: &Digest,
    keys: &[TrustedKey],
) -> Verdict {
    let signature = match decode_signature(signature_b64) {
        Ok(signature) => signature,
        Err(why) => return Verdict::Malformed(why),
    };
    let Some(key) = keys.iter().find(|k| k.verifies(payload, &signature)) else {
        return Verdict::OtherKey { fingerprint: None };
    };
    let parsed: SimpleSigning = match serde_json::from_slice(payload) {
        Ok(parsed) => parsed,
        Err(e) => {
            return Verdict::Malformed(format!("the payload is not simple-signing JSON: {e}"))
        }
    };
    if parsed.critical.kind != "cosign container image signature" {
        return Verdict::Malformed(format!(
            "the payload's type is `{}`, not a cosign container image signature",
            parsed.critical.kind
        ));
    }
    let named = parsed.critical.image.docker_manifest_digest;
    if named != digest.to_string() {
        return Verdict::OtherDigest { named };
    }
    Verdict::Verified {
        key: key.fingerprint.clone(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bundle {
    verification_material: Option<VerificationMaterial>,
    dsse_envelope: Option<Envelope>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerificationMaterial {
    public_key: Option<PublicKeyHint>,
}

#[derive(Deserialize)]
struct PublicKeyHint {
    hint: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload: String,
    payload_type: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Deserialize)]
struct EnvelopeSignature {
    sig: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Statement {
    #[serde(rename = "_type")]
    kind: String,
    subject: Vec<Subject>,
    predicate_type: String,
}

#[derive(Deserialize)]
struct Subject {
    digest: std::collections::BTreeMap<String, String>,
}

/// DSSE's pre-authentication encoding: what a DSSE signature signs.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Checks a cosign v3 bundle (the layer blob of a referrer).
pub fn check_bundle(bundle: &[u8], digest: &Digest, keys: &[TrustedKey]) -> Verdict {
    let bundle: Bundle = match serde_json::from_slice(bundle) {
        Ok(bundle) => bundle,
        Err(e) => return Verdict::Malformed(format!("the bundle is not JSON: {e}")),
    };
    let Some(envelope) = bundle.dsse_envelope else {
        return Verdict::Malformed("the bundle has no DSSE envelope".to_owned());
    };
    let payload =
        match base64::engine::general_purpose::STANDARD.decode(envelope.payload.as_bytes()) {
            Ok(payload) => payload,
            Err(e) => return Verdict::Malformed(format!("the DSSE payload is not base64: {e}")),
        };
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Verdict::Malformed(format!(
            "the DSSE payload type is `{}`, not an in-toto statement",
            envelope.payload_type
        ));
    }
    let hint = bundle
        .verification_material
        .and_then(|m| m.public_key)
        .and_then(|k| k.hint);
    let message = pae(&envelope.payload_type, &payload);
    let mut verified = None;
    for signature in &envelope.signatures {
        let signature = match decode_signature(&signature.sig) {
            Ok(signature) => signature,
            Err(why) => return Verdict::Malformed(why),
        };
        if let Some(key) = keys.iter().find(|k| k.verifies(&message, &signature)) {
            verified = Some(key);
            break;
        }
    }
    let Some(key) = verified else {
        // The hint says which key it claims; one of ours means broken.
        return match hint {
            Some(hint) if keys.iter().any(|k| k.hint() == hint) => Verdict::Broken,
            Some(hint) => Verdict::OtherKey {
                fingerprint: hint_fingerprint(&hint),
            },
            None => Verdict::OtherKey { fingerprint: None },
        };
    };
    let statement: Statement = match serde_json::from_slice(&payload) {
        Ok(statement) => statement,
        Err(e) => {
            return Verdict::Malformed(format!("the payload is not an in-toto statement: {e}"))
        }
    };
    if !statement.kind.starts_with("https://in-toto.io/Statement/") {
        return Verdict::Malformed(format!("the statement's _type is `{}`", statement.kind));
    }
    if statement.predicate_type != COSIGN_SIGN_PREDICATE {
        return Verdict::NotASignature {
            predicate_type: statement.predicate_type,
        };
    }
    let algorithm = digest.algorithm().to_string();
    let names_it = statement
        .subject
        .iter()
        .any(|s| s.digest.get(&algorithm).map(String::as_str) == Some(digest.hex()));
    if !names_it {
        let named = statement
            .subject
            .iter()
            .flat_map(|s| s.digest.iter().map(|(a, h)| format!("{a}:{h}")))
            .collect::<Vec<_>>()
            .join(", ");
        return Verdict::OtherDigest { named };
    }
    Verdict::Verified {
        key: key.fingerprint.clone(),
    }
}

/// `sha256:<hex>` from a bundle's base64 key hint, when it is one.
fn hint_fingerprint(hint: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(hint.as_bytes())
        .ok()?;
    (bytes.len() == 32).then(|| format!("sha256:{}", hex::encode(bytes)))
}

fn decode_signature(b64: &str) -> Result<Signature, String> {
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.trim().as_bytes())
        .map_err(|e| format!("the signature is not base64: {e}"))?;
    Signature::from_der(&der).map_err(|_| "the signature is not a DER ECDSA signature".to_owned())
}

/// Registry text in a message: control characters escaped, cut short.
pub(crate) fn shown(text: &str) -> String {
    let escaped: String = text.escape_debug().collect();
    escaped.chars().take(200).collect()
}
