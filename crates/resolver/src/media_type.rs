//! The manifest kinds `images` can pin, and reading what a manifest body is.

use images_lockfile::{Digest, Platform, PlatformManifest};
use serde::Deserialize;

use crate::ResolveError;

/// OCI image index (multi-platform).
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker manifest list (multi-platform).
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest (single platform).
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker image manifest, schema 2 (single platform).
pub const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Every type the resolver asks for, in one `Accept` header. Leaving one out
/// makes a registry convert (Docker v2 to schema 1, a list to its amd64
/// child) or answer 404, and the recorded digest would be wrong.
pub const MANIFEST_MEDIA_TYPES: &[&str] = &[
    OCI_INDEX,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    DOCKER_MANIFEST_V2,
];

/// The largest manifest body accepted, as distribution itself enforces.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// What a manifest body says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inspected {
    pub media_type: String,
    /// Per-platform children of an index or list; empty for a single manifest.
    pub children: Vec<PlatformManifest>,
    /// Index entries left out because their platform is not one the OCI
    /// spec allows (even after normalizing case), described for a warning.
    pub skipped: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<i64>,
    media_type: Option<String>,
    manifests: Option<Vec<RawDescriptor>>,
    config: Option<serde_json::Value>,
    layers: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    digest: String,
    platform: Option<RawPlatform>,
}

#[derive(Deserialize)]
struct RawPlatform {
    os: String,
    architecture: String,
    variant: Option<String>,
}

/// Reads the kind and the platform children of a manifest body.
///
/// The media type comes from the body, not the `Content-Type` header: it is
/// covered by the digest, the header is not. So a wrong header (a proxy
/// answering `text/plain` with a valid manifest) is ignored rather than
/// refused: refusing it would add no protection, since anyone able to
/// change the header could not change the body without changing its
/// digest.
pub(crate) fn inspect(body: &[u8], reference: &str) -> Result<Inspected, ResolveError> {
    let invalid = |reason: String| ResolveError::InvalidManifest {
        reference: reference.to_string(),
        reason,
    };
    let raw: RawManifest = serde_json::from_slice(body).map_err(|e| {
        let start = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
        invalid(format!("not JSON ({e}); it starts with {start:?}"))
    })?;
    match raw.schema_version {
        Some(2) => {}
        Some(1) => {
            return Err(ResolveError::Schema1 {
                reference: reference.to_string(),
            })
        }
        Some(v) => return Err(invalid(format!("unknown schemaVersion {v}"))),
        None => return Err(invalid("no schemaVersion".to_string())),
    }
    // An OCI manifest may leave out mediaType; its shape then says what it is.
    let media_type = match raw.media_type {
        Some(m) => m,
        None if raw.manifests.is_some() => OCI_INDEX.to_string(),
        None if raw.config.is_some() && raw.layers.is_some() => OCI_MANIFEST.to_string(),
        None => {
            return Err(invalid(
                "no mediaType and neither manifests nor layers".into(),
            ))
        }
    };
    if media_type.starts_with("application/vnd.docker.distribution.manifest.v1") {
        return Err(ResolveError::Schema1 {
            reference: reference.to_string(),
        });
    }
    let is_index = media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST;
    if !is_index && media_type != OCI_MANIFEST && media_type != DOCKER_MANIFEST_V2 {
        return Err(ResolveError::UnsupportedMediaType {
            reference: reference.to_string(),
            media_type,
        });
    }
    let mut children = Vec::new();
    let mut skipped = Vec::new();
    if is_index {
        let manifests = raw
            .manifests
            .ok_or_else(|| invalid("an index without `manifests`".to_string()))?;
        for entry in manifests {
            // Entries without a platform, and buildx attestations
            // (unknown/unknown), are not something a node would run.
            let Some(p) = entry.platform else { continue };
            if p.os == "unknown" || p.architecture == "unknown" {
                continue;
            }
            let digest = Digest::parse(&entry.digest)
                .map_err(|e| invalid(format!("bad child digest: {e}")))?;
            // What the lock could not hold is left out here, never written.
            match Platform::from_index(&p.os, &p.architecture, p.variant.as_deref()) {
                Ok(platform) => children.push(PlatformManifest { platform, digest }),
                Err(e) => skipped.push(format!("`{}` ({digest})", e.input())),
            }
        }
        children.sort_by(|a, b| (&a.platform, &a.digest).cmp(&(&b.platform, &b.digest)));
        children.dedup();
    }
    Ok(Inspected {
        media_type,
        children,
        skipped,
    })
}

/// Whether a platform asked for in images.toml matches an index entry.
///
/// A request without a variant matches any variant, and `arm64` means
/// `arm64/v8` as containerd normalizes it.
pub(crate) fn platform_matches(wanted: &Platform, offered: &Platform) -> bool {
    if wanted.os != offered.os || wanted.architecture != offered.architecture {
        return false;
    }
    match (&wanted.variant, &offered.variant) {
        (None, _) => true,
        (Some(w), Some(o)) => w == o,
        (Some(w), None) => wanted.architecture == "arm64" && w == "v8",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema1_is_refused() {
        let body = br#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#;
        assert!(matches!(
            inspect(body, "r"),
            Err(ResolveError::Schema1 { .. })
        ));
    }

    #[test]
    fn html_is_not_a_manifest() {
        let err = inspect(b"<html><body>502</body></html>", "r").expect_err("html");
        assert!(err.to_string().contains("not JSON"), "{err}");
    }

    #[test]
    fn attestations_are_skipped_and_children_sorted() {
        let d1 = format!("sha256:{}", "1".repeat(64));
        let d2 = format!("sha256:{}", "2".repeat(64));
        let d3 = format!("sha256:{}", "3".repeat(64));
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[
            {{"digest":"{d2}","platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},
            {{"digest":"{d1}","platform":{{"os":"linux","architecture":"amd64"}}}},
            {{"digest":"{d3}","platform":{{"os":"unknown","architecture":"unknown"}}}}]}}"#
        );
        let got = inspect(body.as_bytes(), "r").expect("valid index");
        let platforms: Vec<String> = got
            .children
            .iter()
            .map(|c| c.platform.to_string())
            .collect();
        assert_eq!(platforms, ["linux/amd64", "linux/arm64/v8"]);
    }

    #[test]
    fn oci_manifest_without_media_type_is_recognised() {
        let body = br#"{"schemaVersion":2,"config":{},"layers":[]}"#;
        assert_eq!(
            inspect(body, "r").expect("manifest").media_type,
            OCI_MANIFEST
        );
    }

    #[test]
    fn arm64_without_variant_matches_v8() {
        let want: Platform = "linux/arm64".parse().expect("platform");
        let offer: Platform = "linux/arm64/v8".parse().expect("platform");
        assert!(platform_matches(&want, &offer));
        let amd: Platform = "linux/amd64".parse().expect("platform");
        assert!(!platform_matches(&want, &amd));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// JSON values shaped like manifests: the keys `inspect` reads,
        /// with values of every JSON type, nested a little.
        fn manifest_like() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                prop_oneof![
                    Just(OCI_INDEX.to_string()),
                    Just(DOCKER_MANIFEST_LIST.to_string()),
                    Just(OCI_MANIFEST.to_string()),
                    Just(DOCKER_MANIFEST_V2.to_string()),
                    Just("application/vnd.docker.distribution.manifest.v1+prettyjws".to_string()),
                    Just(format!("sha256:{}", "a".repeat(64))),
                    "sha256:[0-9a-f]{0,70}",
                    Just("linux".to_string()),
                    Just("unknown".to_string()),
                    any::<String>(),
                ]
                .prop_map(serde_json::Value::from),
            ];
            let key = prop_oneof![
                Just("schemaVersion".to_string()),
                Just("mediaType".to_string()),
                Just("manifests".to_string()),
                Just("config".to_string()),
                Just("layers".to_string()),
                Just("digest".to_string()),
                Just("platform".to_string()),
                Just("os".to_string()),
                Just("architecture".to_string()),
                Just("variant".to_string()),
                "[a-z]{1,5}",
            ];
            leaf.prop_recursive(4, 48, 6, move |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                    prop::collection::btree_map(key.clone(), inner, 0..6)
                        .prop_map(|m| { serde_json::Value::Object(m.into_iter().collect()) }),
                ]
            })
        }

        /// Platform fields as registries might send them: valid, odd case,
        /// empty, with separators, quotes, control and non-ASCII characters.
        fn platform_field() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("linux".to_string()),
                Just("AMD64".to_string()),
                Just(String::new()),
                "[a-zA-Z0-9._/ \"\\\n-]{0,8}",
                any::<String>(),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// "What we write, we read": whatever platforms an index lists,
            /// the children `inspect` keeps go into images.lock and come
            /// back out of it unchanged.
            #[test]
            fn what_an_index_lists_the_lock_writes_and_reads_back(
                entries in prop::collection::vec(
                    (platform_field(), platform_field(), prop::option::of(platform_field()), 0u8..4),
                    0..6,
                )
            ) {
                let manifests: Vec<serde_json::Value> = entries
                    .iter()
                    .map(|(os, architecture, variant, child)| {
                        let mut platform = serde_json::json!({"os": os, "architecture": architecture});
                        if let Some(variant) = variant {
                            platform["variant"] = variant.clone().into();
                        }
                        serde_json::json!({
                            "mediaType": OCI_MANIFEST,
                            "digest": format!("sha256:{}", child.to_string().repeat(64)),
                            "size": 1,
                            "platform": platform,
                        })
                    })
                    .collect();
                let body = serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": OCI_INDEX,
                    "manifests": manifests,
                })
                .to_string();
                let inspected = inspect(body.as_bytes(), "r").expect("a well-formed index");
                prop_assert_eq!(inspected.children.len() + inspected.skipped.len() <= entries.len(), true);
                let image = images_lockfile::LockedImage {
                    name: "odd".to_string(),
                    reference: images_lockfile::Reference::parse("registry.test/acme/odd:1")
                        .expect("valid reference"),
                    digest: Digest::sha256_of(body.as_bytes()),
                    media_type: inspected.media_type,
                    mutable: false,
                    requirement: None,
                    signed_by: Vec::new(),
                    signatures: Vec::new(),
                    platforms: images_lockfile::Platforms::new(),
                    manifests: inspected.children,
                };
                let mut lock = images_lockfile::Lockfile::default();
                lock.images.insert(image.name.clone(), image);
                let text = lock.to_toml();
                let back = images_lockfile::Lockfile::parse(&text, std::path::Path::new("images.lock"));
                prop_assert_eq!(back.as_ref().ok(), Some(&lock), "{:?}\n{}", back.as_ref().err(), text);
            }

            #[test]
            fn inspect_never_panics_on_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
                let _ = inspect(&body, "r");
            }

            #[test]
            fn inspect_never_panics_on_manifest_shaped_json(mut value in manifest_like(), schema in prop_oneof![Just(1i64), Just(2), any::<i64>()]) {
                // Most cases should get past the schemaVersion check.
                if let Some(object) = value.as_object_mut() {
                    object.insert("schemaVersion".into(), schema.into());
                }
                let body = serde_json::to_vec(&value).unwrap_or_default();
                if let Ok(inspected) = inspect(&body, "r") {
                    // Whatever it accepts is one of the four pinnable kinds.
                    prop_assert!(MANIFEST_MEDIA_TYPES.contains(&inspected.media_type.as_str()));
                }
            }
        }
    }

    /// Every media type in the shared vectors (crates/lockfile/tests/fixtures,
    /// checked against containerd and go-containerregistry): exactly the
    /// ones marked lockable at the top level are accepted and asked for.
    #[test]
    fn accepts_exactly_the_lockable_media_types_of_the_vectors() {
        let vectors: serde_json::Value = serde_json::from_str(include_str!(
            "../../lockfile/tests/fixtures/mediatypes.json"
        ))
        .expect("valid vectors");
        let types = vectors["media_types"].as_array().expect("media_types");
        assert!(types.len() >= 20, "the vector file lists the known types");
        let mut lockable = Vec::new();
        for t in types {
            let media_type = t["media_type"].as_str().expect("media_type");
            let body = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": media_type,
                "manifests": [],
                "config": {},
                "layers": [],
            })
            .to_string();
            let accepted = inspect(body.as_bytes(), "r").is_ok();
            assert_eq!(
                accepted,
                t["lockable_top_level"] == true,
                "{media_type} ({})",
                t["role"]
            );
            if t["role"] == "manifest-schema1" {
                assert!(matches!(
                    inspect(body.as_bytes(), "r"),
                    Err(ResolveError::Schema1 { .. })
                ));
            }
            if accepted {
                lockable.push(media_type);
            }
        }
        lockable.sort_unstable();
        let mut asked = MANIFEST_MEDIA_TYPES.to_vec();
        asked.sort_unstable();
        assert_eq!(
            asked, lockable,
            "the Accept header names every lockable type"
        );
    }
}
