//! Content digests (`sha256:<hex>`), the immutable half of a pinned image.
//!
//! Only the two algorithms the OCI image spec registers for general use are
//! accepted. A lock is a security boundary: a weaker or exotic algorithm, a
//! truncated value or uppercase hex (which the spec forbids) would let two
//! spellings name the same content, or let an attacker downgrade the hash, so
//! every one of them is refused rather than normalized.

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

/// A hash algorithm that may pin an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// SHA-256, what every registry uses and what the OCI spec says to use.
    Sha256,
    /// SHA-512, registered by the OCI spec as optional.
    Sha512,
}

impl Algorithm {
    /// The algorithm's name as written before the `:` in a digest.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Length of the lowercase hex encoding of this algorithm's output.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    fn hash_hex(self, bytes: &[u8]) -> String {
        match self {
            Algorithm::Sha256 => hex::encode(sha2::Sha256::digest(bytes)),
            Algorithm::Sha512 => hex::encode(sha2::Sha512::digest(bytes)),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a string is not a digest we accept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Not of the form `algorithm:hex` at all.
    #[error("invalid digest `{0}`: expected `sha256:` followed by 64 lowercase hex digits")]
    Format(String),
    /// A syntactically fine digest with an algorithm we refuse.
    #[error("unsupported digest algorithm `{0}`: only sha256 and sha512 can pin an image")]
    UnsupportedAlgorithm(String),
    /// Right algorithm, wrong number of hex digits (often a truncated copy and paste).
    #[error("invalid digest `{input}`: {algorithm} needs {expected} hex digits, found {found}")]
    Length {
        /// The whole input.
        input: String,
        /// The algorithm named in the input.
        algorithm: Algorithm,
        /// How many hex digits the algorithm produces.
        expected: usize,
        /// How many characters follow the `:`.
        found: usize,
    },
    /// Right length, but not lowercase hex.
    #[error("invalid digest `{0}`: the hex part must be lowercase `0-9a-f`")]
    Hex(String),
}

/// A content digest: an algorithm and the lowercase hex of its output.
///
/// ```
/// use images_lockfile::Digest;
/// let d = Digest::sha256_of(b"{}");
/// assert_eq!(d.to_string(), "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
/// assert!(d.matches(b"{}"));
/// assert!(!d.matches(b"{} "));
/// assert_eq!(Digest::parse(&d.to_string()), Ok(d));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parses `sha256:<64 hex>` or `sha512:<128 hex>`, lowercase only.
    ///
    /// The checks run in go-digest's order (format, algorithm, length,
    /// characters) so the error names the first thing that is wrong.
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let Some((name, hex)) = s.split_once(':') else {
            return Err(DigestError::Format(s.to_owned()));
        };
        if name.is_empty() || hex.is_empty() {
            return Err(DigestError::Format(s.to_owned()));
        }
        let Some(algorithm) = Algorithm::from_name(name) else {
            return if is_oci_digest_grammar(name, hex) {
                Err(DigestError::UnsupportedAlgorithm(name.to_owned()))
            } else {
                Err(DigestError::Format(s.to_owned()))
            };
        };
        if hex.len() != algorithm.hex_len() {
            return Err(DigestError::Length {
                input: s.to_owned(),
                algorithm,
                expected: algorithm.hex_len(),
                found: hex.chars().count(),
            });
        }
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DigestError::Hex(s.to_owned()));
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The sha256 digest of `bytes`, as a registry computes it for a manifest.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest {
            algorithm: Algorithm::Sha256,
            hex: Algorithm::Sha256.hash_hex(bytes),
        }
    }

    /// Whether `bytes` hash to this digest under its own algorithm.
    ///
    /// Digests are over exact bytes: re-serialized JSON does not match.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        self.algorithm.hash_hex(bytes) == self.hex
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lowercase hex, without the `algorithm:` prefix.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// A short form for humans, `sha256:` and the first 12 hex digits
    /// (what `docker images` shows). Never use it to compare.
    pub fn short(&self) -> String {
        let end = self.hex.len().min(12);
        format!("{}:{}", self.algorithm, &self.hex[..end])
    }
}

/// The OCI descriptor grammar for a digest
/// (`[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+`), used only to tell an
/// unknown algorithm apart from garbage in the error message.
fn is_oci_digest_grammar(algorithm: &str, encoded: &str) -> bool {
    let components_ok = algorithm.split(['+', '.', '_', '-']).all(|c| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    let encoded_ok = encoded
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
    components_ok && encoded_ok
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Digest, DigestError> {
        Digest::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_form_has_twelve_hex_digits() {
        let d = Digest::sha256_of(b"");
        assert_eq!(d.short(), "sha256:e3b0c44298fc");
    }

    #[test]
    fn sha512_round_trips_and_matches() {
        let hex = Algorithm::Sha512.hash_hex(b"abc");
        let d = Digest::parse(&format!("sha512:{hex}")).expect("valid sha512 digest");
        assert_eq!(d.algorithm(), Algorithm::Sha512);
        assert!(d.matches(b"abc"));
        assert!(!d.matches(b"abd"));
    }

    #[test]
    fn errors_say_what_is_accepted() {
        let err =
            Digest::parse("md5:d41d8cd98f00b204e9800998ecf8427e").expect_err("md5 is refused");
        assert_eq!(
            err.to_string(),
            "unsupported digest algorithm `md5`: only sha256 and sha512 can pin an image"
        );
        let err = Digest::parse("sha256:abc").expect_err("truncated digest is refused");
        assert_eq!(
            err.to_string(),
            "invalid digest `sha256:abc`: sha256 needs 64 hex digits, found 3"
        );
    }

    #[test]
    fn non_ascii_input_does_not_panic() {
        assert!(Digest::parse("sha256:é").is_err());
        assert!(Digest::parse(&format!("sha256:{}", "é".repeat(32))).is_err());
    }
}
