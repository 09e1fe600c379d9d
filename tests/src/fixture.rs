//! Deterministic, small, valid container images to push into a test registry.
//!
//! Every byte is written by hand (no serializer whose key order could change
//! with a cargo feature elsewhere in the workspace), so a fixture's digest is
//! a pure function of its kind, seed, platforms and attestation flag: the
//! same on every run and every machine. `images.lock` files committed to the
//! repository rely on that.

use crate::layer;
use sha2::{Digest as _, Sha256};

/// Media types of the manifests and blobs a fixture is made of.
pub mod media_type {
    /// Docker image manifest, schema 2 (single platform).
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker manifest list (multi-platform).
    pub const DOCKER_MANIFEST_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    /// OCI image manifest (single platform).
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index (multi-platform).
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// Config blob of a Docker image.
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    /// Gzipped tar layer of a Docker image.
    pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// Config blob of an OCI image.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// Gzipped tar layer of an OCI image.
    pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// The in-toto statement layer of a buildx attestation manifest.
    pub const IN_TOTO: &str = "application/vnd.in-toto+json";
}

/// An `Accept` header naming all four manifest types. Without one of them a
/// registry converts or hides what it stores (see REGISTRY.md), so anything
/// that checks a digest must send this.
pub const ACCEPT_ALL_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// The platforms of a list or index when [`Fixture::platforms`] is not called.
pub const DEFAULT_PLATFORMS: &[&str] = &["linux/amd64", "linux/arm64/v8"];

/// `sha256:<hex>` of `bytes`, the way registries name content.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The four manifest kinds a tag can point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Docker image manifest, schema 2: one platform.
    DockerV2S2,
    /// Docker manifest list: one Docker v2s2 manifest per platform.
    DockerManifestList,
    /// OCI image manifest: one platform.
    OciManifest,
    /// OCI image index: one OCI manifest per platform.
    OciIndex,
}

impl Kind {
    /// All four kinds, for tests that cover each.
    pub const ALL: [Kind; 4] = [
        Kind::DockerV2S2,
        Kind::DockerManifestList,
        Kind::OciManifest,
        Kind::OciIndex,
    ];

    /// The media type of the top-level manifest of this kind.
    pub fn media_type(self) -> &'static str {
        match self {
            Kind::DockerV2S2 => media_type::DOCKER_MANIFEST,
            Kind::DockerManifestList => media_type::DOCKER_MANIFEST_LIST,
            Kind::OciManifest => media_type::OCI_MANIFEST,
            Kind::OciIndex => media_type::OCI_INDEX,
        }
    }

    /// The command-line name: `docker-v2s2`, `docker-manifest-list`,
    /// `oci-manifest` or `oci-index`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::DockerV2S2 => "docker-v2s2",
            Kind::DockerManifestList => "docker-manifest-list",
            Kind::OciManifest => "oci-manifest",
            Kind::OciIndex => "oci-index",
        }
    }

    /// Whether this kind lists per-platform children.
    pub fn is_multi_platform(self) -> bool {
        matches!(self, Kind::DockerManifestList | Kind::OciIndex)
    }

    /// The single-platform kind of this kind's children (itself for a
    /// single-platform kind).
    fn single(self) -> Kind {
        match self {
            Kind::DockerV2S2 | Kind::DockerManifestList => Kind::DockerV2S2,
            Kind::OciManifest | Kind::OciIndex => Kind::OciManifest,
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown image kind `{s}`: expected one of `docker-v2s2`, \
                     `docker-manifest-list`, `oci-manifest`, `oci-index`"
                )
            })
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A platform as `os/architecture[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Platform {
    os: String,
    architecture: String,
    variant: Option<String>,
}

impl Platform {
    fn parse(text: &str) -> Option<Platform> {
        let mut parts = text.split('/');
        let os = parts.next().filter(|s| !s.is_empty())?;
        let architecture = parts.next().filter(|s| !s.is_empty())?;
        let variant = match parts.next() {
            Some(v) if !v.is_empty() => Some(v.to_string()),
            Some(_) => return None,
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Platform {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant,
        })
    }

    fn unknown() -> Platform {
        Platform {
            os: "unknown".into(),
            architecture: "unknown".into(),
            variant: None,
        }
    }

    fn text(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{v}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }

    /// The `platform` object of an index entry; also the os/architecture
    /// fields of a config, which use the same key names.
    fn json_fields(&self) -> String {
        let mut out = format!(
            "\"architecture\":{},\"os\":{}",
            json_string(&self.architecture),
            json_string(&self.os)
        );
        if let Some(v) = &self.variant {
            out.push_str(&format!(",\"variant\":{}", json_string(v)));
        }
        out
    }
}

/// A test image: built on demand from its kind and seed, pushed with
/// [`Registry::push`](crate::Registry::push).
///
/// ```
/// use images_testkit::{Fixture, Kind};
/// let a = Fixture::new(Kind::OciIndex, "web-1");
/// let b = Fixture::new(Kind::OciIndex, "web-1");
/// assert_eq!(a.digest(), b.digest());
/// assert_ne!(a.digest(), Fixture::new(Kind::OciIndex, "web-2").digest());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixture {
    kind: Kind,
    seed: String,
    platforms: Vec<Platform>,
    attestation: bool,
}

impl Fixture {
    /// An image of `kind` whose content derives only from `seed`: the same
    /// seed and kind give the same bytes, hence the same digest, everywhere.
    ///
    /// The child of a list or index for platform `p` is byte-identical to
    /// `Fixture::new(single kind, seed).platforms(&[p])`, so a test can
    /// predict the digest a platform-selecting client should find.
    pub fn new(kind: Kind, seed: &str) -> Fixture {
        Fixture {
            kind,
            seed: seed.to_string(),
            platforms: DEFAULT_PLATFORMS
                .iter()
                .filter_map(|p| Platform::parse(p))
                .collect(),
            attestation: false,
        }
    }

    /// The platforms of a list or index, as `os/architecture[/variant]`
    /// (default: `linux/amd64`, `linux/arm64/v8`). A single-platform kind
    /// uses the first one (default there: `linux/amd64`).
    ///
    /// # Panics
    ///
    /// When `platforms` is empty or one is not `os/architecture[/variant]`:
    /// that is a mistake in the test, not a condition to handle.
    pub fn platforms(mut self, platforms: &[&str]) -> Fixture {
        assert!(
            !platforms.is_empty(),
            "a fixture needs at least one platform"
        );
        self.platforms = platforms
            .iter()
            .map(|p| {
                Platform::parse(p)
                    .unwrap_or_else(|| panic!("platform `{p}` is not `os/architecture[/variant]`"))
            })
            .collect();
        self
    }

    /// The platforms of a list or index taken exactly as given, without any
    /// check: `("Linux", "AMD64", None)`, an empty os, a quote or newline
    /// in a variant. For tests of what a client does with platforms a
    /// registry stores without complaint but the OCI spec does not allow.
    pub fn raw_platforms(mut self, platforms: &[(&str, &str, Option<&str>)]) -> Fixture {
        self.platforms = platforms
            .iter()
            .map(|(os, architecture, variant)| Platform {
                os: (*os).to_string(),
                architecture: (*architecture).to_string(),
                variant: variant.map(str::to_string),
            })
            .collect();
        self
    }

    /// Adds an attestation manifest to a list or index, the way
    /// `docker buildx` does: an entry with platform `unknown/unknown` and
    /// annotation `vnd.docker.reference.type: attestation-manifest`. Clients
    /// must not count it as a platform. No effect on single-platform kinds.
    pub fn with_attestation(mut self) -> Fixture {
        self.attestation = true;
        self
    }

    /// The kind of the top-level manifest.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The media type of the top-level manifest.
    pub fn media_type(&self) -> &'static str {
        self.kind.media_type()
    }

    /// The digest the top-level manifest will have in any registry.
    pub fn digest(&self) -> String {
        sha256_digest(&self.manifest())
    }

    /// The exact bytes of the top-level manifest.
    pub fn manifest(&self) -> Vec<u8> {
        let mut built = self.build();
        built.manifests.pop().map(|m| m.bytes).unwrap_or_default()
    }

    /// `(platform, digest)` of each platform manifest of a list or index,
    /// in order, without the attestation; empty for a single manifest.
    pub fn children(&self) -> Vec<(String, String)> {
        self.build().children
    }

    /// Everything to push: blobs, then manifests with the top-level last.
    pub(crate) fn build(&self) -> Built {
        let mut built = Built::default();
        if !self.kind.is_multi_platform() {
            let platform = self.platforms.first().cloned().unwrap_or_else(|| Platform {
                os: "linux".into(),
                architecture: "amd64".into(),
                variant: None,
            });
            let top = single_image(&mut built, self.kind, &self.seed, &platform);
            built.manifests.push(top);
            return built;
        }

        let child_kind = self.kind.single();
        let mut entries = Vec::new();
        for platform in &self.platforms {
            let child = single_image(&mut built, child_kind, &self.seed, platform);
            built.children.push((platform.text(), child.digest.clone()));
            entries.push(format!(
                "{{\"mediaType\":{},\"digest\":{},\"size\":{},\"platform\":{{{}}}}}",
                json_string(child.media_type),
                json_string(&child.digest),
                child.bytes.len(),
                platform.json_fields()
            ));
            built.manifests.push(child);
        }
        if self.attestation {
            // buildx attaches one attestation per image; one is enough for
            // clients to have to recognise and skip it.
            let subject = built
                .children
                .first()
                .map(|(_, digest)| digest.clone())
                .unwrap_or_default();
            let attestation = attestation_manifest(&mut built, &self.seed, &subject);
            entries.push(format!(
                "{{\"mediaType\":{},\"digest\":{},\"size\":{},\"annotations\":{{\"vnd.docker.reference.digest\":{},\"vnd.docker.reference.type\":\"attestation-manifest\"}},\"platform\":{{{}}}}}",
                json_string(attestation.media_type),
                json_string(&attestation.digest),
                attestation.bytes.len(),
                json_string(&subject),
                Platform::unknown().json_fields()
            ));
            built.manifests.push(attestation);
        }
        let bytes = format!(
            "{{\"schemaVersion\":2,\"mediaType\":{},\"manifests\":[{}]}}",
            json_string(self.kind.media_type()),
            entries.join(",")
        )
        .into_bytes();
        built
            .manifests
            .push(Content::new(self.kind.media_type(), bytes));
        built
    }
}

/// One piece of content: a blob or a manifest.
#[derive(Debug, Clone)]
pub(crate) struct Content {
    pub media_type: &'static str,
    pub digest: String,
    pub bytes: Vec<u8>,
}

impl Content {
    fn new(media_type: &'static str, bytes: Vec<u8>) -> Content {
        Content {
            media_type,
            digest: sha256_digest(&bytes),
            bytes,
        }
    }

    fn descriptor(&self) -> String {
        format!(
            "{{\"mediaType\":{},\"size\":{},\"digest\":{}}}",
            json_string(self.media_type),
            self.bytes.len(),
            json_string(&self.digest)
        )
    }
}

/// A fixture laid out for pushing.
#[derive(Debug, Default)]
pub(crate) struct Built {
    /// Config and layer blobs, without duplicates.
    pub blobs: Vec<Content>,
    /// Children first, top-level manifest last.
    pub manifests: Vec<Content>,
    /// Platform and digest of each platform child.
    pub children: Vec<(String, String)>,
}

impl Built {
    fn add_blob(&mut self, blob: Content) {
        if !self.blobs.iter().any(|b| b.digest == blob.digest) {
            self.blobs.push(blob);
        }
    }
}

/// A single-platform manifest with one config and one layer; its blobs are
/// added to `built`, the manifest is returned.
fn single_image(built: &mut Built, kind: Kind, seed: &str, platform: &Platform) -> Content {
    let (config_type, layer_type) = match kind {
        Kind::DockerV2S2 | Kind::DockerManifestList => {
            (media_type::DOCKER_CONFIG, media_type::DOCKER_LAYER)
        }
        Kind::OciManifest | Kind::OciIndex => (media_type::OCI_CONFIG, media_type::OCI_LAYER),
    };
    let file = format!("seed={seed}\nplatform={}\n", platform.text());
    let tar = layer::tar_one_file("images-testkit.txt", file.as_bytes());
    let diff_id = sha256_digest(&tar);
    let layer = Content::new(layer_type, layer::gzip_stored(&tar));
    let config = Content::new(
        config_type,
        format!(
            "{{{},\"created\":\"1970-01-01T00:00:00Z\",\"config\":{{\"Labels\":{{\"org.opencontainers.image.title\":{}}}}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[{}]}},\"history\":[{{\"created_by\":\"images-testkit fixture\"}}]}}",
            platform.json_fields(),
            json_string(seed),
            json_string(&diff_id)
        )
        .into_bytes(),
    );
    let media_type = kind.single().media_type();
    let manifest = format!(
        "{{\"schemaVersion\":2,\"mediaType\":{},\"config\":{},\"layers\":[{}]}}",
        json_string(media_type),
        config.descriptor(),
        layer.descriptor()
    );
    built.add_blob(config);
    built.add_blob(layer);
    Content::new(media_type, manifest.into_bytes())
}

/// A buildx-style attestation manifest: an OCI manifest whose single layer
/// is an in-toto statement about `subject`.
fn attestation_manifest(built: &mut Built, seed: &str, subject: &str) -> Content {
    let hex = subject.strip_prefix("sha256:").unwrap_or(subject);
    let statement = Content::new(
        media_type::IN_TOTO,
        format!(
            "{{\"_type\":\"https://in-toto.io/Statement/v0.1\",\"predicateType\":\"https://slsa.dev/provenance/v0.2\",\"subject\":[{{\"name\":{},\"digest\":{{\"sha256\":{}}}}}],\"predicate\":{{}}}}",
            json_string(seed),
            json_string(hex)
        )
        .into_bytes(),
    );
    let config = Content::new(
        media_type::OCI_CONFIG,
        format!(
            "{{{},\"config\":{{}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[{}]}}}}",
            Platform::unknown().json_fields(),
            json_string(&statement.digest)
        )
        .into_bytes(),
    );
    let manifest = format!(
        "{{\"schemaVersion\":2,\"mediaType\":{},\"config\":{},\"layers\":[{{\"mediaType\":{},\"size\":{},\"digest\":{},\"annotations\":{{\"in-toto.io/predicate-type\":\"https://slsa.dev/provenance/v0.2\"}}}}]}}",
        json_string(media_type::OCI_MANIFEST),
        config.descriptor(),
        json_string(statement.media_type),
        statement.bytes.len(),
        json_string(&statement.digest)
    );
    built.add_blob(config);
    built.add_blob(statement);
    Content::new(media_type::OCI_MANIFEST, manifest.into_bytes())
}

/// A JSON string literal. serde_json's string escaping does not depend on
/// any feature, unlike its map key order.
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_manifest_is_valid_json_with_its_media_type() {
        for kind in Kind::ALL {
            let built = Fixture::new(kind, "x").with_attestation().build();
            for m in built.manifests.iter().chain(built.blobs.iter()) {
                if m.media_type == media_type::DOCKER_LAYER || m.media_type == media_type::OCI_LAYER
                {
                    continue;
                }
                let v: serde_json::Value =
                    serde_json::from_slice(&m.bytes).expect("fixture content is JSON");
                if m.media_type.contains("manifest") || m.media_type.contains("index") {
                    assert_eq!(v["mediaType"], m.media_type);
                }
            }
        }
    }

    #[test]
    fn index_child_equals_single_manifest_of_that_platform() {
        let index = Fixture::new(Kind::OciIndex, "s");
        let single = Fixture::new(Kind::OciManifest, "s").platforms(&["linux/arm64/v8"]);
        assert_eq!(
            index.children()[1],
            ("linux/arm64/v8".into(), single.digest())
        );
    }

    #[test]
    fn kind_names_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(kind.name().parse::<Kind>(), Ok(kind));
        }
        assert!("docker".parse::<Kind>().is_err());
    }
}
