//! The resolver's public API against the real registry on loopback: tag
//! listing (with paging through the fault proxy) and blob fetching.

use images_lockfile::{Digest, Platforms, Reference};
use images_resolver::{ResolveError, Resolver, ResolverConfig};
use images_testkit::{Fault, FaultProxy, Fixture, Kind, Registry};

fn block<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

fn reference(text: &str) -> Reference {
    Reference::parse(text).expect("valid reference")
}

/// `acme/api` with tags `v0` … `v{n-1}` of one image.
fn registry_with_tags(n: usize) -> (Registry, Vec<String>) {
    let registry = Registry::start().expect("start the registry");
    let fixture = Fixture::new(Kind::OciManifest, "api");
    registry.push("acme/api", "v0", &fixture).expect("push");
    let mut tags = vec!["v0".to_string()];
    for i in 1..n {
        let tag = format!("v{i}");
        registry
            .client()
            .tag("acme/api", &tag, &fixture)
            .expect("tag");
        tags.push(tag);
    }
    tags.sort();
    (registry, tags)
}

#[test]
fn tags_lists_every_tag_of_the_repository() {
    let (registry, expected) = registry_with_tags(5);
    let resolver = Resolver::new(ResolverConfig::default());
    let mut tags = block(resolver.tags(&reference(&format!("{}/acme/api:v0", registry.addr()))))
        .expect("tags");
    tags.sort();
    assert_eq!(tags, expected);
}

#[test]
fn tags_follows_link_pagination_to_the_last_page() {
    let (registry, expected) = registry_with_tags(7);
    let proxy = FaultProxy::start(&registry.addr()).expect("start proxy");
    proxy.set(Fault::PageTags { per_page: 3 });
    let resolver = Resolver::new(ResolverConfig::default());
    let tags =
        block(resolver.tags(&reference(&format!("{}/acme/api:v0", proxy.addr())))).expect("tags");
    assert_eq!(tags, expected, "every page, in order, once");
    let pages = proxy
        .requests()
        .iter()
        .filter(|r| r.contains("/tags/list"))
        .count();
    assert_eq!(pages, 3, "{:?}", proxy.requests());
}

#[test]
fn tags_of_a_missing_repository_is_not_found() {
    let (registry, _) = registry_with_tags(1);
    let resolver = Resolver::new(ResolverConfig::default());
    let err = block(resolver.tags(&reference(&format!("{}/acme/gone:v0", registry.addr()))))
        .expect_err("no such repository");
    assert!(matches!(err, ResolveError::NotFound { .. }), "{err:?}");
}

#[test]
fn blob_returns_the_bytes_of_a_digest_and_refuses_a_missing_one() {
    let registry = Registry::start().expect("start the registry");
    let fixture = Fixture::new(Kind::OciManifest, "api");
    registry.push("acme/api", "v1", &fixture).expect("push");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fixture.manifest()).expect("manifest JSON");
    let config = Digest::parse(
        manifest["config"]["digest"]
            .as_str()
            .expect("config digest"),
    )
    .expect("digest");
    let image = reference(&format!("{}/acme/api:v1", registry.addr()));
    let resolver = Resolver::new(ResolverConfig::default());
    let bytes = block(resolver.blob(&image, &config, 1024 * 1024)).expect("blob");
    assert!(config.matches(&bytes));
    let too_small = block(resolver.blob(&image, &config, 8)).expect_err("over the cap");
    assert!(
        matches!(too_small, ResolveError::TooLarge { .. }),
        "{too_small:?}"
    );
    let absent = Digest::sha256_of(b"not pushed");
    let err = block(resolver.blob(&image, &absent, 1024)).expect_err("absent");
    assert!(matches!(err, ResolveError::NotFound { .. }), "{err:?}");
}

/// Requests in flight to one registry, as the proxy in front of it saw
/// them, when 8 tags are resolved 8 at a time under `per_registry`.
fn most_in_flight(per_registry: usize) -> u64 {
    let (registry, tags) = registry_with_tags(8);
    let proxy = FaultProxy::start(&registry.addr()).expect("start proxy");
    // Slow answers, so requests overlap whatever the machine's speed.
    proxy.set(Fault::Slow { delay_ms: 150 });
    let resolver = Resolver::new(ResolverConfig {
        jobs: 8,
        jobs_per_registry: per_registry,
        ..ResolverConfig::default()
    });
    let requests: Vec<_> = tags
        .iter()
        .map(|t| {
            (
                reference(&format!("{}/acme/api:{t}", proxy.addr())),
                Platforms::new(),
            )
        })
        .collect();
    for result in block(resolver.resolve_many(&requests)) {
        result.expect("resolved");
    }
    proxy.max_in_flight()
}

#[test]
fn requests_to_one_registry_are_bounded_per_registry() {
    assert!(most_in_flight(2) <= 2);
    // The bound, not the workload, is what held it there.
    assert!(most_in_flight(8) > 2);
}

/// Distribution 2.8 has no referrers API (404): the tag-schema fallback,
/// an OCI index tagged `sha256-<hex of the subject>`, is read instead.
#[test]
fn referrers_fall_back_to_the_tag_schema_and_none_is_an_empty_list() {
    let registry = Registry::start().expect("start the registry");
    let subject = registry
        .push("acme/api", "v1", &Fixture::new(Kind::OciManifest, "api"))
        .expect("push");
    let signature = registry
        .push(
            "acme/api",
            "sig",
            &Fixture::new(Kind::OciManifest, "signature"),
        )
        .expect("push");
    let size = Fixture::new(Kind::OciManifest, "signature")
        .manifest()
        .len();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": signature.digest,
            "size": size,
            "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        }],
    })
    .to_string();
    let subject_digest = Digest::parse(&subject.digest).expect("digest");
    registry
        .client()
        .put_raw_manifest(
            "acme/api",
            &subject.digest.replacen(':', "-", 1),
            "application/vnd.oci.image.index.v1+json",
            index.as_bytes(),
        )
        .expect("push the referrers index");
    let image = reference(&format!("{}/acme/api:v1", registry.addr()));
    let resolver = Resolver::new(ResolverConfig::default());
    let found = block(resolver.referrers(&image, &subject_digest)).expect("referrers");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].digest.to_string(), signature.digest);
    assert_eq!(
        found[0].artifact_type.as_deref(),
        Some("application/vnd.dev.sigstore.bundle.v0.3+json")
    );
    let unsigned = Digest::parse(&signature.digest).expect("digest");
    assert_eq!(
        block(resolver.referrers(&image, &unsigned)).expect("referrers"),
        Vec::new()
    );
}
