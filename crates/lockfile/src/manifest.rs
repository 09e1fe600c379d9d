//! `images.toml`, the file people write: which images, at which tags, with
//! which options, and per-registry connection settings.
//!
//! ```toml
//! [images]
//! web  = "nginx:1.27"
//! api  = { image = "ghcr.io/acme/api:v1.2.11" }
//! base = { image = "alpine:latest", mutable = true }
//! db   = { image = "postgres:16", platforms = ["linux/amd64", "linux/arm64"] }
//!
//! [registries."registry.internal:5000"]
//! insecure = true
//! ca = "certs/internal-ca.pem"
//!
//! [pin]
//! exclude = ["deploy/legacy", "**/*.generated.yaml"]
//! ```
//!
//! Every mistake is an error that names the file, line, column and entry:
//! unknown keys are refused rather than ignored, because a misspelt
//! `mutabel = true` silently ignored would turn a warning into a CI failure
//! (or the reverse) with no hint why.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::digest::Digest;
use crate::file_error::FileError;
use crate::platform::{Platform, Platforms};
use crate::reference::{is_valid_domain, Reference};
use crate::signers::{read_public_key_pem, RepositoryPattern, Signer, SignerKey};
use crate::spanned_toml::{
    self, key_span, one_of, DuplicateKey, Entry, LineIndex, Located, Node, WrongType,
};
use crate::versions::VersionSpec;

/// The manifest's file name, looked for in the working directory and its
/// parents.
pub const MANIFEST_FILE: &str = "images.toml";

const TOP_LEVEL_KEYS: &[&str] = &["images", "registries", "pin", "signers"];
const IMAGE_KEYS: &[&str] = &[
    "image",
    "mutable",
    "platforms",
    "version",
    "tags",
    "signed-by",
];
const SIGNER_KEYS: &[&str] = &["keys", "images"];
const REGISTRY_KEYS: &[&str] = &["insecure", "ca"];
const PIN_KEYS: &[&str] = &["exclude"];

/// A parsed `images.toml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Where it was read from; relative paths inside it are relative to its
    /// directory.
    pub path: PathBuf,
    /// Declared images by name.
    pub images: BTreeMap<String, ImageSpec>,
    /// Per-registry settings by domain (`registry.internal:5000`).
    pub registries: BTreeMap<String, RegistryConfig>,
    /// How `images pin` searches for files (`[pin]`).
    pub pin: PinConfig,
    /// Declared signers by name.
    pub signers: BTreeMap<String, Signer>,
}

/// The `[pin]` table: what `images pin` leaves out of its search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PinConfig {
    /// Globs over paths relative to the directory of images.toml (`*`
    /// stays within one component, `**` crosses them); a file or
    /// directory that matches is not searched. Each is a valid glob,
    /// written without a leading `./` or a trailing `/`.
    pub exclude: Vec<String>,
}

/// One entry of `[images]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSpec {
    /// The entry's key (`web` in `web = "nginx:1.27"`).
    pub name: String,
    /// The declared reference, normalized (`docker.io/library/nginx:1.27`).
    /// For an entry with a `version` requirement only its repository
    /// counts: the tag is the one `images lock` chooses (see
    /// [`ImageSpec::version`]).
    pub reference: Reference,
    /// The tag is expected to move: `verify` warns instead of failing.
    pub mutable: bool,
    /// Platforms to record for a multi-platform image; empty means all of
    /// them.
    pub platforms: Platforms,
    /// `version` (and `tags`): lock the newest tag this requirement allows
    /// instead of a fixed one.
    pub version: Option<VersionSpec>,
    /// The signers whose signature the locked digest must carry, sorted:
    /// the entry's `signed-by` and every signer whose `images` cover its
    /// repository.
    pub signed_by: Vec<String>,
    /// The key fingerprints of each signer in `signed_by`, so that an
    /// offline check can tell a lock whose key was rotated out.
    pub signer_keys: BTreeMap<String, Vec<Digest>>,
    /// 1-based line of the entry's key in `images.toml`, for messages.
    pub line: usize,
}

impl ImageSpec {
    /// The reference as images.toml means it, canonical: the repository
    /// alone for a versioned entry (its tag is chosen by `images lock`).
    pub fn declared(&self) -> String {
        match self.version {
            Some(_) => self.reference.name(),
            None => self.reference.to_string(),
        }
    }

    /// [`ImageSpec::declared`] as Docker shows it, with the requirement
    /// for a versioned entry: `nginx (~1.27)`.
    pub fn declared_familiar(&self) -> String {
        match &self.version {
            Some(version) => format!(
                "{} ({})",
                self.reference.familiar_name(),
                version.declared.version
            ),
            None => self.reference.familiar(),
        }
    }
}

/// One `[registries."host:port"]` table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Plain HTTP is allowed for this registry.
    pub insecure: bool,
    /// An extra trust root (PEM) for this registry, resolved against the
    /// manifest's directory.
    pub ca: Option<PathBuf>,
}

impl Manifest {
    /// Reads and parses the manifest at `path`.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|err| ManifestError::read(path, &err))?;
        Manifest::parse(&text, path)
    }

    /// Parses manifest text; `path` is used for messages and to resolve
    /// relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, ManifestError> {
        let cx = Context {
            text,
            path,
            lines: LineIndex::new(text),
        };
        let entries = spanned_toml::parse(text).map_err(|err| {
            // A key twice in `[images]` is two entries with one name; say that.
            let message = match &err.duplicate {
                Some(DuplicateKey { table, key }) if table == &["images"] => format!(
                    "image `{key}` is declared more than once (each name in `[images]` must be unique)"
                ),
                _ => format!("invalid TOML: {}", err.message),
            };
            cx.error(ManifestErrorKind::Syntax, err.span, message)
        })?;

        let mut manifest = Manifest {
            path: path.to_owned(),
            images: BTreeMap::new(),
            registries: BTreeMap::new(),
            pin: PinConfig::default(),
            signers: BTreeMap::new(),
        };
        // Where each entry's `signed-by` names a signer, to point at it.
        let mut named_signers: Vec<(String, String, Range<usize>)> = Vec::new();
        for entry in &entries {
            let (key, value) = entry;
            match key.as_str() {
                "images" => {
                    let table = cx.table(value, || "`[images]`".to_owned())?;
                    for image in table {
                        let (spec, names) = cx.image(image)?;
                        for (signer, span) in names {
                            named_signers.push((spec.name.clone(), signer, span));
                        }
                        manifest.images.insert(spec.name.clone(), spec);
                    }
                }
                "signers" => {
                    let table = cx.table(value, || "`[signers]`".to_owned())?;
                    for signer in table {
                        let signer = cx.signer(signer)?;
                        manifest.signers.insert(signer.name.clone(), signer);
                    }
                }
                "registries" => {
                    let table = cx.table(value, || "`[registries]`".to_owned())?;
                    for registry in table {
                        let (domain, config) = cx.registry(registry)?;
                        if manifest.registries.contains_key(&domain) {
                            return Err(cx.invalid(
                                key_span(registry),
                                format!("registry `{domain}` is configured more than once"),
                            ));
                        }
                        manifest.registries.insert(domain, config);
                    }
                }
                "pin" => manifest.pin = cx.pin(value)?,
                other => {
                    return Err(cx.invalid(
                        key_span(entry),
                        format!(
                            "unknown key `{other}` at the top level (expected {})",
                            one_of(TOP_LEVEL_KEYS)
                        ),
                    ))
                }
            }
        }
        for (image, signer, span) in named_signers {
            if !manifest.signers.contains_key(&signer) {
                let declared: Vec<&str> = manifest.signers.keys().map(String::as_str).collect();
                return Err(cx.invalid(
                    span,
                    format!(
                        "image `{image}`: no signer named `{signer}` (declare it as `[signers.{signer}]` with `keys = [\"path/to/cosign.pub\"]`{})",
                        if declared.is_empty() {
                            String::new()
                        } else {
                            format!("; declared: {}", declared.join(", "))
                        }
                    ),
                ));
            }
        }
        // What each entry requires: its own `signed-by` and the signers
        // whose `images` cover its repository.
        for spec in manifest.images.values_mut() {
            for signer in manifest.signers.values() {
                if signer.images.iter().any(|p| p.matches(&spec.reference)) {
                    spec.signed_by.push(signer.name.clone());
                }
            }
            spec.signed_by.sort();
            spec.signed_by.dedup();
            spec.signer_keys = spec
                .signed_by
                .iter()
                .filter_map(|name| manifest.signers.get(name))
                .map(|s| {
                    let keys = s.keys.iter().map(|k| k.fingerprint.clone()).collect();
                    (s.name.clone(), keys)
                })
                .collect();
        }
        Ok(manifest)
    }

    /// The settings for a registry, by the domain of a [`Reference`].
    pub fn registry(&self, domain: &str) -> Option<&RegistryConfig> {
        self.registries.get(domain)
    }
}

/// Finds `images.toml` in `start` or the nearest parent directory that has
/// one, as cargo finds `Cargo.toml`.
pub fn find_manifest(start: &Path) -> Option<PathBuf> {
    // A relative start like `.` has no parents to walk; make it absolute.
    let start = std::path::absolute(start).unwrap_or_else(|_| start.to_owned());
    start
        .ancestors()
        .map(|dir| dir.join(MANIFEST_FILE))
        .find(|candidate| candidate.is_file())
}

/// What went wrong with a manifest, for callers that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManifestErrorKind {
    /// There is no manifest where one was looked for.
    NotFound,
    /// The file exists but could not be read.
    Io,
    /// Not valid TOML.
    Syntax,
    /// Valid TOML that is not a valid manifest.
    Invalid,
}

/// A manifest error, displayed on one line as
/// `images.toml:4:8: unknown key `imgae` in image `web` (expected …)`.
pub type ManifestError = FileError<ManifestErrorKind>;

impl ManifestError {
    /// The error to report when [`find_manifest`] found nothing.
    pub fn not_found(start: &Path) -> ManifestError {
        ManifestError::about(
            start,
            format!("no {MANIFEST_FILE} found here or in any parent directory"),
            ManifestErrorKind::NotFound,
        )
    }

    fn read(path: &Path, err: &io::Error) -> ManifestError {
        let (kind, reason) = if err.kind() == io::ErrorKind::NotFound {
            (ManifestErrorKind::NotFound, "file not found".to_owned())
        } else {
            (ManifestErrorKind::Io, err.to_string())
        };
        ManifestError::about(path, format!("cannot read: {reason}"), kind)
    }
}

/// The text being parsed, to turn spans into positions.
struct Context<'a> {
    text: &'a str,
    path: &'a Path,
    lines: LineIndex,
}

impl Context<'_> {
    fn error(
        &self,
        kind: ManifestErrorKind,
        span: Option<Range<usize>>,
        message: String,
    ) -> ManifestError {
        ManifestError::at(self.path, self.text, span, message, kind)
    }

    fn invalid(&self, span: Range<usize>, message: String) -> ManifestError {
        self.error(ManifestErrorKind::Invalid, Some(span), message)
    }

    fn table<'n>(
        &self,
        value: &'n Located,
        what: impl Fn() -> String,
    ) -> Result<&'n [Entry], ManifestError> {
        value
            .as_table()
            .map_err(|err| self.wrong(err, format!("{} must be a table", what())))
    }

    /// One `[images]` entry, and the signers its `signed-by` names (with
    /// where), checked against `[signers]` once the whole file is read.
    #[allow(clippy::type_complexity)]
    fn image(
        &self,
        entry: &Entry,
    ) -> Result<(ImageSpec, Vec<(String, Range<usize>)>), ManifestError> {
        let (key, value) = entry;
        let name = key.as_str().to_owned();
        if name.is_empty() {
            return Err(self.invalid(key_span(entry), "image names must not be empty".to_owned()));
        }
        let line = self.lines.line(key_span(entry).start);
        let mut mutable = false;
        let mut platforms = Platforms::new();
        let mut version = None;
        let mut tags = None;
        let mut signed_by: Vec<(String, Range<usize>)> = Vec::new();
        let reference = match value.get_ref() {
            Node::String(image) => (self.reference(&name, image, value.span())?, None),
            Node::Table(entries) => {
                let mut image = None;
                for inner in entries {
                    let (k, v) = inner;
                    match k.as_str() {
                        "image" => image = Some(self.image_string(v, "image", &name, "a string")?),
                        "mutable" => {
                            mutable = v
                                .as_bool()
                                .map_err(|err| self.wrong_type(err, "mutable", &name, "a boolean"))?;
                        }
                        "platforms" => platforms = self.platforms(&name, v)?,
                        "version" => {
                            version = Some(self.image_string(v, "version", &name, "a string like `\"~1.27\"`")?);
                        }
                        "signed-by" => signed_by = self.signer_names(&name, v)?,
                        "tags" => {
                            tags = Some(self.image_string(v, "tags", &name, "a regular expression like `'^v?(\\d+\\.\\d+\\.\\d+)$'`")?);
                        }
                        other => {
                            return Err(self.invalid(
                                key_span(inner),
                                format!(
                                    "unknown key `{other}` in image `{name}` (expected {})",
                                    one_of(IMAGE_KEYS)
                                ),
                            ))
                        }
                    }
                }
                let (image, image_span) = image.ok_or_else(|| {
                    self.invalid(
                        key_span(entry),
                        format!("image `{name}` has no `image` key (expected `image = \"nginx:1.27\"`)"),
                    )
                })?;
                self.versioned(&name, &image, image_span, version, tags)?
            }
            _ => {
                return Err(self.wrong(
                    value.wrong_type(),
                    format!("image `{name}` must be a string like `\"nginx:1.27\"` or a table like `{{ image = \"nginx:1.27\" }}`"),
                ))
            }
        };
        let (reference, version) = reference;
        let spec = ImageSpec {
            name,
            reference,
            mutable,
            platforms,
            version,
            signed_by: signed_by.iter().map(|(s, _)| s.clone()).collect(),
            signer_keys: BTreeMap::new(),
            line,
        };
        Ok((spec, signed_by))
    }

    /// `signed-by = "acme"` or `signed-by = ["acme", "ops"]`.
    fn signer_names(
        &self,
        name: &str,
        value: &Located,
    ) -> Result<Vec<(String, Range<usize>)>, ManifestError> {
        let expected = "a signer name or a list of them, like `\"acme\"` or `[\"acme\", \"ops\"]`";
        match value.get_ref() {
            Node::String(s) => Ok(vec![(s.clone(), value.span())]),
            Node::Array(items) => items
                .iter()
                .map(|item| self.image_string(item, "signed-by", name, expected))
                .collect(),
            _ => Err(self.wrong_type(value.wrong_type(), "signed-by", name, expected)),
        }
    }

    /// One `[signers.NAME]` table: its keys read and checked, its
    /// repository patterns parsed.
    fn signer(&self, entry: &Entry) -> Result<Signer, ManifestError> {
        let (key, value) = entry;
        let name = key.as_str().to_owned();
        let line = self.lines.line(key_span(entry).start);
        let what = || format!("signer `{name}`");
        let mut keys = Vec::new();
        let mut images = Vec::new();
        let mut has_keys = false;
        for inner in self.table(value, what)? {
            let (k, v) = inner;
            let items = |expected: &str| -> Result<Vec<(&str, Range<usize>)>, ManifestError> {
                let items = v.as_array().map_err(|err| {
                    self.wrong(
                        err,
                        format!("`{}` in signer `{name}` must be {expected}", k.as_str()),
                    )
                })?;
                items
                    .iter()
                    .map(|item| match item.get_ref() {
                        Node::String(s) => Ok((s.as_str(), item.span())),
                        other => Err(self.invalid(
                            item.span(),
                            format!(
                                "`{}` in signer `{name}` must be {expected}, found {} in it",
                                k.as_str(),
                                other.kind()
                            ),
                        )),
                    })
                    .collect()
            };
            match k.as_str() {
                "keys" => {
                    has_keys = true;
                    for (path, span) in items("a list of public key files, like `[\"keys/cosign.pub\"]`")? {
                        keys.push(self.signer_key(&name, path, span)?);
                    }
                }
                "images" => {
                    for (pattern, span) in items("a list of repositories, like `[\"ghcr.io/acme/*\"]`")? {
                        let pattern = RepositoryPattern::parse(pattern)
                            .map_err(|e| self.invalid(span, format!("signer `{name}`: {e}")))?;
                        images.push(pattern);
                    }
                }
                other => {
                    return Err(self.invalid(
                        key_span(inner),
                        format!(
                            "unknown key `{other}` in signer `{name}` (expected {}; keyless `identity` and `issuer` are not supported yet)",
                            one_of(SIGNER_KEYS)
                        ),
                    ))
                }
            }
        }
        if !has_keys || keys.is_empty() {
            return Err(self.invalid(
                key_span(entry),
                format!("signer `{name}` has no keys (expected `keys = [\"path/to/cosign.pub\"]`)"),
            ));
        }
        Ok(Signer {
            name,
            keys,
            images,
            line,
        })
    }

    /// Reads a signer's public key file (relative to images.toml).
    fn signer_key(
        &self,
        signer: &str,
        path: &str,
        span: Range<usize>,
    ) -> Result<SignerKey, ManifestError> {
        let base = self.path.parent().unwrap_or_else(|| Path::new(""));
        let full = base.join(path);
        let text = std::fs::read_to_string(&full).map_err(|e| {
            self.invalid(
                span.clone(),
                format!(
                    "signer `{signer}`: cannot read key `{}`: {e}",
                    full.display()
                ),
            )
        })?;
        let der = read_public_key_pem(&text).map_err(|e| {
            self.invalid(
                span.clone(),
                format!("signer `{signer}`: key `{}`: {e}", full.display()),
            )
        })?;
        Ok(SignerKey {
            path: full,
            fingerprint: crate::Digest::sha256_of(&der),
            der,
            line: self.lines.line(span.start),
        })
    }

    /// The reference of a table entry and its version requirement: an
    /// `image` without tag or digest when there is a `version`, `tags` only
    /// beside a `version`.
    fn versioned(
        &self,
        name: &str,
        image: &str,
        image_span: Range<usize>,
        version: Option<(String, Range<usize>)>,
        tags: Option<(String, Range<usize>)>,
    ) -> Result<(Reference, Option<VersionSpec>), ManifestError> {
        let reference = self.reference(name, image, image_span.clone())?;
        let Some((version, version_span)) = version else {
            if let Some((_, tags_span)) = tags {
                return Err(self.invalid(
                    tags_span,
                    format!("image `{name}`: `tags` filters the tags a `version` requirement chooses from; add `version = \"…\"` or remove `tags`"),
                ));
            }
            return Ok((reference, None));
        };
        let written = crate::reference::ParsedReference::parse(image)
            .map(|p| p.tag.is_some() || p.digest.is_some())
            .unwrap_or(false);
        if written {
            return Err(self.invalid(
                image_span,
                format!("image `{name}`: `{image}` names a tag or digest, but `version` chooses the tag; write the repository alone (like `image = \"{}\"`)", reference.familiar_name()),
            ));
        }
        let spec = match &tags {
            Some((text, span)) => VersionSpec::new(&version, Some(text)).map_err(|e| {
                let span = match e {
                    crate::VersionError::Requirement { .. } => version_span.clone(),
                    crate::VersionError::Filter { .. } => span.clone(),
                };
                self.invalid(span, format!("image `{name}`: {e}"))
            })?,
            None => VersionSpec::new(&version, None)
                .map_err(|e| self.invalid(version_span.clone(), format!("image `{name}`: {e}")))?,
        };
        Ok((reference, Some(spec)))
    }

    fn reference(
        &self,
        name: &str,
        image: &str,
        span: Range<usize>,
    ) -> Result<Reference, ManifestError> {
        Reference::parse(image).map_err(|err| self.invalid(span, format!("image `{name}`: {err}")))
    }

    fn platforms(&self, name: &str, value: &Located) -> Result<Platforms, ManifestError> {
        let items = value
            .as_array()
            .map_err(|err| self.wrong_type(err, "platforms", name, "an array of strings"))?;
        let mut platforms = Platforms::new();
        for item in items {
            let s = item.as_str().map_err(|err| {
                self.wrong(
                    err,
                    format!(
                        "`platforms` in image `{name}` must hold strings like `\"linux/amd64\"`"
                    ),
                )
            })?;
            let platform = Platform::parse(s)
                .map_err(|err| self.invalid(item.span(), format!("image `{name}`: {err}")))?;
            platforms.insert(platform);
        }
        Ok(platforms)
    }

    fn registry(&self, entry: &Entry) -> Result<(String, RegistryConfig), ManifestError> {
        let (key, value) = entry;
        let domain = key.as_str();
        if !is_valid_domain(domain) {
            return Err(self.invalid(
                key_span(entry),
                format!("registry `{domain}` is not a registry host (expected `host` or `host:port`, like `registry.internal:5000`)"),
            ));
        }
        // References normalize the old Docker Hub name, so settings must too
        // or they would never be found.
        let domain = if domain == "index.docker.io" {
            "docker.io"
        } else {
            domain
        };
        let what = || format!("registry `{domain}`");
        let mut config = RegistryConfig::default();
        for inner in self.table(value, what)? {
            let (k, v) = inner;
            match k.as_str() {
                "insecure" => {
                    config.insecure = v.as_bool().map_err(|err| {
                        self.wrong(
                            err,
                            format!("`insecure` in registry `{domain}` must be a boolean"),
                        )
                    })?;
                }
                "ca" => match v.get_ref() {
                    Node::String(ca) if !ca.is_empty() => {
                        let base = self.path.parent().unwrap_or_else(|| Path::new(""));
                        config.ca = Some(base.join(ca));
                    }
                    other => {
                        return Err(self.invalid(
                            v.span(),
                            format!(
                            "`ca` in registry `{domain}` must be a path to a PEM file, found {}",
                            match other {
                                Node::String(_) => "an empty string",
                                other => other.kind(),
                            }
                        ),
                        ))
                    }
                },
                other => {
                    return Err(self.invalid(
                        key_span(inner),
                        format!(
                            "unknown key `{other}` in registry `{domain}` (expected {})",
                            one_of(REGISTRY_KEYS)
                        ),
                    ))
                }
            }
        }
        Ok((domain.to_owned(), config))
    }

    fn pin(&self, value: &Located) -> Result<PinConfig, ManifestError> {
        let mut config = PinConfig::default();
        for inner in self.table(value, || "`[pin]`".to_owned())? {
            let (k, v) = inner;
            match k.as_str() {
                "exclude" => {
                    let items = v.as_array().map_err(|err| {
                        self.wrong(err, "`exclude` in `[pin]` must be an array of globs like `[\"vendor\", \"deploy/**/*.gen.yaml\"]`")
                    })?;
                    for item in items {
                        config.exclude.push(self.exclude_glob(item)?);
                    }
                }
                other => {
                    return Err(self.invalid(
                        key_span(inner),
                        format!(
                            "unknown key `{other}` in `[pin]` (expected {})",
                            one_of(PIN_KEYS)
                        ),
                    ))
                }
            }
        }
        Ok(config)
    }

    /// One `[pin] exclude` glob, checked now so that a typo is an error
    /// at its line rather than a pattern that silently matches nothing.
    fn exclude_glob(&self, item: &Located) -> Result<String, ManifestError> {
        let glob = item
            .as_str()
            .map_err(|err| self.wrong(err, "`exclude` in `[pin]` must hold strings (globs)"))?;
        let trimmed = glob.strip_prefix("./").unwrap_or(glob);
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        let invalid =
            |why: String| self.invalid(item.span(), format!("`[pin] exclude` glob `{glob}` {why}"));
        if trimmed.is_empty() {
            return Err(invalid("is empty".to_owned()));
        }
        if trimmed.starts_with('/') || trimmed.split('/').any(|c| c == "..") {
            return Err(invalid(format!(
                "must be relative to the directory of {MANIFEST_FILE}, without `..`"
            )));
        }
        globset::GlobBuilder::new(trimmed)
            .literal_separator(true)
            .build()
            .map_err(|err| invalid(format!("is not a valid glob: {}", err.kind())))?;
        Ok(trimmed.to_owned())
    }

    /// A value of the wrong type: `expected` says what it must be (`` `insecure`
    /// in registry `r` must be a boolean``), [`WrongType::message`] adds
    /// what it is.
    fn wrong(&self, err: WrongType, expected: impl Display) -> ManifestError {
        let message = err.message(expected);
        self.invalid(err.span, message)
    }

    /// [`Context::wrong`] for key `key` of image `name`, which must be
    /// `expected` (`a string`).
    fn wrong_type(&self, err: WrongType, key: &str, name: &str, expected: &str) -> ManifestError {
        self.wrong(err, format!("`{key}` in image `{name}` must be {expected}"))
    }

    /// The string that key `key` of image `name` must be, with where it is
    /// (for later messages about its content).
    fn image_string(
        &self,
        value: &Located,
        key: &str,
        name: &str,
        expected: &str,
    ) -> Result<(String, Range<usize>), ManifestError> {
        let s = value
            .as_str()
            .map_err(|err| self.wrong_type(err, key, name, expected))?;
        Ok((s.to_owned(), value.span()))
    }
}
