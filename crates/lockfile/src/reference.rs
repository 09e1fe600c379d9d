//! Image references (`[domain[:port]/]path[:tag][@digest]`), parsed and
//! normalized the way distribution/reference (and so `docker pull`) does.
//!
//! Two entry points:
//! - [`Reference::parse`] is what `images` uses everywhere: Docker Hub
//!   defaults (`docker.io`, `library/`), `index.docker.io` folded into
//!   `docker.io`, and `:latest` when neither tag nor digest is given. Unlike
//!   `ParseDockerRef` it keeps both tag and digest when both are given: the
//!   tag is what a human reads in the lock, the digest is what pins.
//! - [`ParsedReference::parse`] is the purely syntactic parse (upstream
//!   `Parse`), without any defaults. It exists so the upstream test vectors
//!   can be checked one to one; most callers want [`Reference::parse`].
//!
//! Deliberate difference from upstream: a digest must be `sha256` or `sha512`
//! with its full length of lowercase hex (see [`crate::digest`]).

use std::fmt;
use std::str::FromStr;

use crate::digest::{Digest, DigestError};

/// The registry assumed when a reference names none.
pub(crate) const DEFAULT_DOMAIN: &str = "docker.io";
/// The old name of Docker Hub, rewritten to [`DEFAULT_DOMAIN`].
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// Namespace of Docker Hub's official images (`nginx` is `library/nginx`).
const OFFICIAL_REPO_PREFIX: &str = "library/";
/// The tag assumed when a reference has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// Longest repository path (the name without its domain), as upstream.
pub(crate) const MAX_PATH_LEN: usize = 255;
/// Longest tag.
const MAX_TAG_LEN: usize = 128;

/// Why a string is not an image reference, with the input it was about.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid reference `{}`: {kind}", shorten(input))]
pub struct ReferenceError {
    input: String,
    kind: ReferenceErrorKind,
}

impl ReferenceError {
    fn new(input: &str, kind: ReferenceErrorKind) -> ReferenceError {
        ReferenceError {
            input: input.to_owned(),
            kind,
        }
    }

    /// The string that failed to parse.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// What is wrong with it.
    pub fn kind(&self) -> &ReferenceErrorKind {
        &self.kind
    }
}

/// What is wrong with a reference. The `Display` text is the part of the
/// message after `invalid reference `…`: `.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceErrorKind {
    /// The empty string.
    #[error("the reference is empty")]
    Empty,
    /// Does not fit `[domain[:port]/]path[:tag][@digest]` at all.
    #[error("expected `[registry[:port]/]repository[:tag][@digest]`, where the repository is lowercase letters and digits separated by `/`, `.`, `_`, `__` or `-`")]
    Format,
    /// The repository path has uppercase letters (only the domain may).
    #[error("repository name must be lowercase")]
    Uppercase,
    /// The tag breaks `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    #[error("tag `{0}` must start with a letter, digit or `_` and have at most 128 letters, digits, `_`, `.` or `-`")]
    Tag(String),
    /// The repository path (without the domain) is too long.
    #[error("name is longer than 255 characters ({0} characters without the registry)")]
    NameTooLong(usize),
    /// The first component looks like a registry but is not a valid host.
    #[error("`{0}` is not a valid registry host")]
    Domain(String),
    /// A bare 64-hex string is an image id, not a repository.
    #[error("a 64-character hex string is an image id, not a repository name (to pin by digest write `name@sha256:...`)")]
    ImageId,
    /// The digest after `@` is not one we accept.
    #[error("{0}")]
    Digest(DigestError),
}

/// Long inputs (up to a few hundred characters) make unreadable one-line
/// messages; the full input is still available from [`ReferenceError::input`].
fn shorten(s: &str) -> String {
    const MAX: usize = 100;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}...")
    }
}

/// A normalized image reference: domain, repository path, and a tag, a
/// digest or both.
///
/// ```
/// use images_lockfile::Reference;
/// let r = Reference::parse("nginx").unwrap();
/// assert_eq!(r.to_string(), "docker.io/library/nginx:latest");
/// assert_eq!(r.familiar(), "nginx:latest");
/// let r = Reference::parse("127.0.0.1:5000/acme/api:v1.2.11").unwrap();
/// assert_eq!((r.domain(), r.path(), r.tag()), ("127.0.0.1:5000", "acme/api", Some("v1.2.11")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalizes a reference as `docker pull` would read it.
    ///
    /// `docker.io` is the default registry; a single-component path on
    /// docker.io gets `library/`; `index.docker.io` becomes `docker.io`;
    /// `:latest` is added when there is neither tag nor digest. When both a
    /// tag and a digest are given both are kept.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        if s.is_empty() {
            return Err(ReferenceError::new(s, ReferenceErrorKind::Empty));
        }
        // Upstream refuses these outright: `docker run <id>` means an image
        // id, so accepting it as `docker.io/library/<id>` would mislead.
        if is_identifier(s) {
            return Err(ReferenceError::new(s, ReferenceErrorKind::ImageId));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote = remainder.split(':').next().unwrap_or_default();
        if remote.to_lowercase() != remote {
            return Err(ReferenceError::new(s, ReferenceErrorKind::Uppercase));
        }
        let full = format!("{domain}/{remainder}");
        let parsed = parse_syntactic(&full).map_err(|kind| ReferenceError::new(s, kind))?;
        let Some(domain) = parsed.domain else {
            // The text before the first `/` had a `.` or `:` (so it is meant
            // as a registry) but is not a host name; upstream would quietly
            // take it as part of the path on no registry at all.
            return Err(ReferenceError::new(
                s,
                ReferenceErrorKind::Domain(domain.to_owned()),
            ));
        };
        let tag = match (&parsed.tag, &parsed.digest) {
            (None, None) => Some(DEFAULT_TAG.to_owned()),
            (tag, _) => tag.clone(),
        };
        Ok(Reference {
            domain,
            path: parsed.path,
            tag,
            digest: parsed.digest,
        })
    }

    /// Parses a reference that must already be in canonical form (what
    /// `Display` prints), as stored in `images.lock`.
    pub fn parse_canonical(s: &str) -> Result<Reference, CanonicalError> {
        let reference = Reference::parse(s)?;
        if reference.to_string() != s {
            return Err(CanonicalError::NotCanonical {
                input: s.to_owned(),
                canonical: reference.to_string(),
            });
        }
        Ok(reference)
    }

    /// The registry host and optional port: `docker.io`, `127.0.0.1:5000`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path on that registry: `library/nginx`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the reference pins one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The repository with its registry: `docker.io/library/nginx`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The repository as Docker shows it: `nginx`, `acme/api`,
    /// `ghcr.io/acme/api`.
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            // `library/a/b` stays as is: only `library/<one component>` is
            // an official image.
            Some(rest) if !rest.contains('/') => rest.to_owned(),
            _ => self.path.clone(),
        }
    }

    /// The whole reference as Docker shows it: `nginx:1.27`.
    pub fn familiar(&self) -> String {
        let mut out = self.familiar_name();
        push_tag_and_digest(&mut out, self.tag(), self.digest());
        out
    }

    /// The same reference pinned to `digest`, keeping the tag.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The same repository at `tag`, without a digest; `None` when `tag`
    /// is not a valid tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`), as a tag
    /// listed by a registry may not be.
    pub fn with_tag(&self, tag: &str) -> Option<Reference> {
        is_tag(tag).then(|| Reference {
            tag: Some(tag.to_owned()),
            digest: None,
            ..self.clone()
        })
    }

    /// The same reference without its digest. A reference that had only a
    /// digest comes back with neither and prints as the bare repository.
    pub fn without_digest(&self) -> Reference {
        Reference {
            digest: None,
            ..self.clone()
        }
    }
}

fn push_tag_and_digest(out: &mut String, tag: Option<&str>, digest: Option<&Digest>) {
    if let Some(tag) = tag {
        out.push(':');
        out.push_str(tag);
    }
    if let Some(digest) = digest {
        out.push('@');
        out.push_str(&digest.to_string());
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.name();
        push_tag_and_digest(&mut out, self.tag(), self.digest());
        f.write_str(&out)
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Reference, ReferenceError> {
        Reference::parse(s)
    }
}

/// Why a reference read from a machine-written file was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// Not a reference at all.
    #[error(transparent)]
    Invalid(#[from] ReferenceError),
    /// A valid reference, but not spelled the way `images` writes it.
    #[error("reference `{input}` is not in canonical form (expected `{canonical}`)")]
    NotCanonical {
        /// What was read.
        input: String,
        /// How `images` writes the same reference.
        canonical: String,
    },
}

/// A reference split by the grammar alone, with no defaults applied
/// (upstream `reference.Parse`).
///
/// `domain` is `None` when the text before the first `/` is not a host, or
/// there is no `/`: `test.com:5000` is the path `test.com` with tag `5000`.
///
/// ```
/// use images_lockfile::ParsedReference;
/// let p = ParsedReference::parse("test:5000/repo:tag").unwrap();
/// assert_eq!(p.domain.as_deref(), Some("test:5000"));
/// assert_eq!(p.path, "repo");
/// assert_eq!(p.to_string(), "test:5000/repo:tag");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParsedReference {
    /// The registry host and port, when the first component is one.
    pub domain: Option<String>,
    /// The repository path.
    pub path: String,
    /// The tag, if given.
    pub tag: Option<String>,
    /// The digest, if given.
    pub digest: Option<Digest>,
}

impl ParsedReference {
    /// Splits `s` by the reference grammar without normalizing it.
    pub fn parse(s: &str) -> Result<ParsedReference, ReferenceError> {
        parse_syntactic(s).map_err(|kind| ReferenceError::new(s, kind))
    }

    /// Domain and path joined, as given: `test:5000/repo`.
    pub fn name(&self) -> String {
        match &self.domain {
            Some(domain) => format!("{domain}/{}", self.path),
            None => self.path.clone(),
        }
    }
}

impl fmt::Display for ParsedReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.name();
        push_tag_and_digest(&mut out, self.tag.as_deref(), self.digest.as_ref());
        f.write_str(&out)
    }
}

/// Upstream `splitDockerDomain`: decide whether the first component is a
/// registry, and apply the Docker Hub defaults to the rest.
fn split_docker_domain(s: &str) -> (&str, String) {
    let (domain, remainder) = match s.split_once('/') {
        Some((first, rest)) if looks_like_domain(first) => (first, rest),
        _ => (DEFAULT_DOMAIN, s),
    };
    let domain = if domain == LEGACY_DEFAULT_DOMAIN {
        DEFAULT_DOMAIN
    } else {
        domain
    };
    let remainder = if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        format!("{OFFICIAL_REPO_PREFIX}{remainder}")
    } else {
        remainder.to_owned()
    };
    (domain, remainder)
}

/// The first path component is a registry when it has a `.` or `:`, is
/// `localhost`, or has an uppercase letter (`Docker/docker` is registry
/// `Docker`: repository names cannot have uppercase, so it must be a host).
fn looks_like_domain(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost" || first.to_lowercase() != first
}

/// Upstream `Parse`: match the grammar; if that fails, report uppercase when
/// the lowercased input would have matched, as upstream does.
fn parse_syntactic(s: &str) -> Result<ParsedReference, ReferenceErrorKind> {
    if s.is_empty() {
        return Err(ReferenceErrorKind::Empty);
    }
    let parts = match split_reference(s) {
        Ok(parts) => parts,
        Err(kind) => {
            return match split_reference(&s.to_lowercase()) {
                Ok(_) => Err(ReferenceErrorKind::Uppercase),
                Err(_) => Err(kind),
            }
        }
    };
    let path_len = parts.path.chars().count();
    if path_len > MAX_PATH_LEN {
        return Err(ReferenceErrorKind::NameTooLong(path_len));
    }
    let digest = match parts.digest {
        Some(d) => Some(Digest::parse(d).map_err(ReferenceErrorKind::Digest)?),
        None => None,
    };
    Ok(ParsedReference {
        domain: parts.domain.map(str::to_owned),
        path: parts.path.to_owned(),
        tag: parts.tag.map(str::to_owned),
        digest,
    })
}

/// A reference split into its parts by the grammar (upstream
/// `ReferenceRegexp`); the digest is only checked loosely here.
struct Parts<'a> {
    domain: Option<&'a str>,
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

/// Hand-written equivalent of upstream's `ReferenceRegexp`
/// (`^((?:domain/)?remote)(?::(tag))?(?:@(digest))?$`). Neither the name nor
/// the tag can hold `@`, so the digest starts at the first `@`; a tag cannot
/// hold `/` or `:`, so it is whatever follows the last `:` when no `/` does
/// (a `:` followed by a `/` belongs to a registry port).
fn split_reference(s: &str) -> Result<Parts<'_>, ReferenceErrorKind> {
    let (rest, digest) = match s.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (s, None),
    };
    if let Some(d) = digest {
        if !is_loose_digest(d) {
            // Name what is wrong with the digest; a digest that fails the
            // loose pattern always fails the strict parse too.
            return Err(match Digest::parse(d) {
                Err(err) => ReferenceErrorKind::Digest(err),
                Ok(_) => ReferenceErrorKind::Format,
            });
        }
    }
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if let Some(tag) = tag {
        if !is_tag(tag) {
            return Err(ReferenceErrorKind::Tag(tag.to_owned()));
        }
    }
    // The domain group is optional and tried first (leftmost-first), and a
    // domain holds no `/`: it is the first component if that is a host and
    // the rest is a repository path.
    if let Some((first, path)) = name.split_once('/') {
        if is_domain_and_port(first) && is_remote_name(path) {
            return Ok(Parts {
                domain: Some(first),
                path,
                tag,
                digest,
            });
        }
    }
    if is_remote_name(name) {
        return Ok(Parts {
            domain: None,
            path: name,
            tag,
            digest,
        });
    }
    Err(ReferenceErrorKind::Format)
}

/// `[\w][\w.-]{0,127}` with ASCII `\w`.
fn is_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    match bytes.split_first() {
        Some((&first, rest)) => {
            bytes.len() <= MAX_TAG_LEN
                && word(first)
                && rest.iter().all(|&b| word(b) || b == b'.' || b == b'-')
        }
        None => false,
    }
}

/// `pathComponent(/pathComponent)*`.
fn is_remote_name(name: &str) -> bool {
    name.split('/').all(is_path_component)
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    // Check every run of separator characters between alphanumerics.
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let run = &component[start..i];
        let ok = matches!(run, "." | "_" | "__") || run.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `host(:port)?` where host is a DNS-style name or a bracketed IPv6
/// address (no zone).
fn is_domain_and_port(s: &str) -> bool {
    let (host_ok, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return false;
        };
        let ipv6_ok =
            !inside.is_empty() && inside.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return false,
            },
        };
        (ipv6_ok, port)
    } else {
        match s.split_once(':') {
            Some((host, port)) => (is_domain_name(host), Some(port)),
            None => (is_domain_name(s), None),
        }
    };
    let port_ok = match port {
        Some(p) => !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()),
        None => true,
    };
    host_ok && port_ok
}

/// `component(.component)*`, each `[a-zA-Z0-9]` or
/// `[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`.
fn is_domain_name(host: &str) -> bool {
    host.split('.').all(|component| {
        let bytes = component.as_bytes();
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                first.is_ascii_alphanumeric()
                    && last.is_ascii_alphanumeric()
                    && bytes
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            }
            _ => false,
        }
    })
}

/// Whether `s` is a valid registry host with optional port, as it may be
/// written before the first `/` of a reference (`registry.internal:5000`,
/// `[::1]:5000`, `localhost`).
pub fn is_valid_domain(s: &str) -> bool {
    is_domain_and_port(s)
}

/// Upstream's loose digest pattern inside a reference:
/// `[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`.
fn is_loose_digest(d: &str) -> bool {
    let Some((algorithm, hex)) = d.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm.split(['-', '_', '+', '.']).all(|c| {
        let bytes = c.as_bytes();
        match bytes.split_first() {
            Some((first, rest)) => {
                first.is_ascii_alphabetic() && rest.iter().all(u8::is_ascii_alphanumeric)
            }
            None => false,
        }
    });
    algorithm_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Exactly 64 lowercase hex digits (an image id).
fn is_identifier(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        Reference::parse(s)
            .expect_err("reference should be refused")
            .to_string()
    }

    #[test]
    fn messages_say_what_is_wrong() {
        assert_eq!(
            err("Foo:bar"),
            "invalid reference `Foo:bar`: repository name must be lowercase"
        );
        assert!(err("busybox:-foo").contains("tag `-foo`"));
        assert!(err(&format!("example.com/{}", "a".repeat(256)))
            .contains("name is longer than 255 characters"));
        assert_eq!(
            err(&format!("nginx@md5:{}", "0".repeat(32))),
            format!(
                "invalid reference `nginx@md5:{}`: unsupported digest algorithm `md5`: only sha256 and sha512 can pin an image",
                "0".repeat(32)
            )
        );
        assert!(err("nginx@sha256:abc").contains("sha256 needs 64 hex digits, found 3"));
        assert!(err("foo_bar.com/app").contains("`foo_bar.com` is not a valid registry host"));
    }

    #[test]
    fn keeps_tag_and_digest() {
        let digest = Digest::sha256_of(b"x");
        let r = Reference::parse(&format!("nginx:1.27@{digest}")).expect("valid reference");
        assert_eq!(r.tag(), Some("1.27"));
        assert_eq!(r.digest(), Some(&digest));
        assert_eq!(
            r.to_string(),
            format!("docker.io/library/nginx:1.27@{digest}")
        );
        assert_eq!(r.familiar(), format!("nginx:1.27@{digest}"));
        assert_eq!(
            r.without_digest().to_string(),
            "docker.io/library/nginx:1.27"
        );
        assert_eq!(r.without_digest().with_digest(digest), r);
    }

    #[test]
    fn canonical_form_is_required_when_asked() {
        assert!(Reference::parse_canonical("docker.io/library/nginx:1.27").is_ok());
        let e = Reference::parse_canonical("nginx:1.27").expect_err("not canonical");
        assert_eq!(
            e.to_string(),
            "reference `nginx:1.27` is not in canonical form (expected `docker.io/library/nginx:1.27`)"
        );
    }

    #[test]
    fn odd_input_does_not_panic() {
        for s in [
            "@", ":", "/", "a/", "[", "[]/a", "é", "a:é", "a@é:1", "[::1]", "a@@b", "/:@",
        ] {
            let _ = Reference::parse(s);
            let _ = ParsedReference::parse(s);
        }
    }
}
