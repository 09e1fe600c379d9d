//! `[signers.NAME]` in images.toml: who must have signed an image, by
//! which keys, for which repositories.
//!
//! ```toml
//! [signers.acme]
//! keys = ["keys/acme-2025.pub", "keys/acme-2026.pub"]   # any one will do
//! images = ["ghcr.io/acme/*"]   # every entry under this prefix needs acme
//! ```
//!
//! A key is a cosign public key: PEM `PUBLIC KEY`, an ECDSA P-256
//! SubjectPublicKeyInfo. The lock identifies a key by its fingerprint, the
//! sha256 of that DER, so an offline check can tell when a key a signature
//! was verified with is no longer among the signer's keys. The cryptography
//! itself is the resolver's; this module only reads and names keys.

use std::fmt;

use crate::digest::Digest;
use crate::reference::Reference;

/// A declared signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signer {
    /// The table's name (`acme`).
    pub name: String,
    /// Its keys, in the order written; any one of them is enough.
    pub keys: Vec<SignerKey>,
    /// Repositories whose entries all require this signer.
    pub images: Vec<RepositoryPattern>,
    /// 1-based line of the `[signers.NAME]` key, for messages.
    pub line: usize,
}

impl Signer {
    /// Whether `fingerprint` (`sha256:…`) is one of this signer's keys.
    pub fn has_key(&self, fingerprint: &Digest) -> bool {
        self.keys.iter().any(|k| k.fingerprint == *fingerprint)
    }
}

/// One public key of a signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerKey {
    /// The file, resolved against images.toml's directory.
    pub path: std::path::PathBuf,
    /// The SubjectPublicKeyInfo, DER.
    pub der: Vec<u8>,
    /// `sha256:` + hex of `der`: how the lock names the key.
    pub fingerprint: Digest,
    /// 1-based line of the path in images.toml, for messages.
    pub line: usize,
}

/// The DER prefix of every uncompressed ECDSA P-256 SubjectPublicKeyInfo:
/// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (66) },
/// then the 65-byte point `04 || X || Y`.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Reads a PEM `PUBLIC KEY` that holds an ECDSA P-256 key (what `cosign
/// generate-key-pair` writes); returns its SubjectPublicKeyInfo DER.
pub fn read_public_key_pem(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
    const END: &str = "-----END PUBLIC KEY-----";
    let text = text.trim_start_matches('\u{feff}');
    let start = text.find(BEGIN).ok_or_else(|| {
        if text.contains("PRIVATE KEY") {
            "this is a private key; name the public key (`cosign.pub`) instead".to_owned()
        } else {
            format!("not a PEM public key (no `{BEGIN}` line)")
        }
    })?;
    let body = &text[start + BEGIN.len()..];
    let end = body
        .find(END)
        .ok_or_else(|| format!("the PEM has no `{END}` line"))?;
    let base64: String = body[..end].split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(base64.as_bytes())
        .map_err(|e| format!("the PEM body is not base64: {e}"))?;
    if der.len() != P256_SPKI_PREFIX.len() + 65 || !der.starts_with(&P256_SPKI_PREFIX) {
        return Err(
            "not an ECDSA P-256 public key (cosign keys are P-256; RSA, Ed25519 and other curves are not supported)"
                .to_owned(),
        );
    }
    if der[P256_SPKI_PREFIX.len()] != 0x04 {
        return Err("the P-256 point is not in uncompressed form".to_owned());
    }
    Ok(der)
}

/// A repository, or all repositories under a prefix, in canonical form:
/// `ghcr.io/acme/api` or `ghcr.io/acme/*`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RepositoryPattern {
    /// Exactly this repository.
    Exact(String),
    /// Every repository whose name starts with this, then `/`.
    Under(String),
}

impl RepositoryPattern {
    /// Reads a pattern; it must be canonical (`docker.io/library/nginx`,
    /// not `nginx`), so that what it covers is never a guess.
    pub fn parse(text: &str) -> Result<RepositoryPattern, String> {
        let (base, under) = match text.strip_suffix("/*") {
            Some(base) => (base, true),
            None => (text, false),
        };
        // A prefix is a namespace: read it with a component below it, so
        // that `acme/*` means `docker.io/acme/*`, not `library/acme`.
        let probe = if under {
            format!("{base}/x")
        } else {
            base.to_owned()
        };
        let canonical = Reference::parse(&probe)
            .ok()
            .filter(|r| r.tag() == Some(crate::DEFAULT_TAG) && r.digest().is_none())
            .map(|r| r.name())
            .map(|name| match under {
                true => name.strip_suffix("/x").unwrap_or(&name).to_owned(),
                false => name,
            });
        // A prefix may be a registry alone (`ghcr.io/*`).
        let registry_only =
            under && crate::reference::is_valid_domain(base) && base.contains(['.', ':']);
        match canonical {
            Some(name) if name == base => {}
            _ if registry_only => {}
            Some(name) => {
                return Err(format!(
                    "`{text}` is not a canonical repository; write `{name}{}`",
                    if under { "/*" } else { "" }
                ))
            }
            None => {
                return Err(format!(
                    "`{text}` is not a repository (expected `host/path` or `host/path/*`, like `ghcr.io/acme/*`)"
                ))
            }
        }
        Ok(if under {
            RepositoryPattern::Under(base.to_owned())
        } else {
            RepositoryPattern::Exact(base.to_owned())
        })
    }

    /// Whether the repository of `reference` is covered.
    pub fn matches(&self, reference: &Reference) -> bool {
        let name = reference.name();
        match self {
            RepositoryPattern::Exact(repository) => name == *repository,
            RepositoryPattern::Under(prefix) => name
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with('/')),
        }
    }
}

impl fmt::Display for RepositoryPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RepositoryPattern::Exact(repository) => f.write_str(repository),
            RepositoryPattern::Under(prefix) => write!(f, "{prefix}/*"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_canonical_and_match_by_whole_components() {
        let under = RepositoryPattern::parse("ghcr.io/acme/*").expect("valid");
        let api = Reference::parse("ghcr.io/acme/api:v1").expect("valid");
        let deep = Reference::parse("ghcr.io/acme/x/y:v1").expect("valid");
        let other = Reference::parse("ghcr.io/acmecorp/api:v1").expect("valid");
        assert!(under.matches(&api) && under.matches(&deep) && !under.matches(&other));
        let exact = RepositoryPattern::parse("docker.io/library/nginx").expect("valid");
        assert!(exact.matches(&Reference::parse("nginx:1.27").expect("valid")));
        assert!(RepositoryPattern::parse("ghcr.io/*").is_ok());
        let err = RepositoryPattern::parse("nginx").expect_err("not canonical");
        assert_eq!(
            err,
            "`nginx` is not a canonical repository; write `docker.io/library/nginx`"
        );
        assert!(RepositoryPattern::parse("ghcr.io/acme/api:v1").is_err());
        assert!(RepositoryPattern::parse("").is_err());
    }

    #[test]
    fn only_p256_public_keys_are_read() {
        assert!(read_public_key_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        )
        .expect_err("private")
        .contains("private key"));
        assert!(read_public_key_pem("hello").is_err());
        // An Ed25519 SPKI (12-byte prefix, 32-byte key).
        let ed = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
        assert!(read_public_key_pem(ed)
            .expect_err("ed25519")
            .contains("not an ECDSA P-256"));
    }
}
