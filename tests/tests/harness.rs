//! Tests of the harness itself: the registry it starts serves what it
//! pushes byte-exact, fixtures are deterministic, and each fault of the
//! proxy does what its name says. End-to-end tests of `images` live beside
//! this file, in their own files.

use images_testkit::{
    media_type, sha256_digest, Fixture, Kind, Registry, RegistryOptions, ACCEPT_ALL_MANIFESTS,
};
use reqwest::blocking::Client;

/// A raw GET with the full Accept list, independent of `RegistryClient`.
fn raw_get(url: &str) -> (u16, Option<String>, Option<String>, Vec<u8>) {
    let response = Client::new()
        .get(url)
        .header("Accept", ACCEPT_ALL_MANIFESTS)
        .send()
        .expect("GET from the test registry");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_string())
    };
    let status = response.status().as_u16();
    let content_type = header("content-type");
    let digest = header("docker-content-digest");
    let body = response.bytes().expect("response body").to_vec();
    (status, content_type, digest, body)
}

#[test]
fn registry_serves_each_kind_byte_exact_under_its_own_digest() {
    let registry = Registry::start().expect("start registry");
    for kind in Kind::ALL {
        let fixture = Fixture::new(kind, "harness-1");
        let pushed = registry
            .push("harness/kinds", kind.name(), &fixture)
            .expect("push");
        assert_eq!(pushed.digest, fixture.digest());
        assert_eq!(pushed.media_type, kind.media_type());

        let url = format!(
            "{}/v2/harness/kinds/manifests/{}",
            registry.url(),
            kind.name()
        );
        let (status, content_type, digest, body) = raw_get(&url);
        assert_eq!(status, 200, "{kind}");
        assert_eq!(content_type.as_deref(), Some(kind.media_type()), "{kind}");
        assert_eq!(digest.as_deref(), Some(pushed.digest.as_str()), "{kind}");
        assert_eq!(sha256_digest(&body), pushed.digest, "{kind}");
        assert_eq!(body, fixture.manifest(), "{kind}");

        if kind.is_multi_platform() {
            let platforms: Vec<&str> = pushed.children.iter().map(|(p, _)| p.as_str()).collect();
            assert_eq!(platforms, ["linux/amd64", "linux/arm64/v8"], "{kind}");
            for (_, child) in &pushed.children {
                let url = format!("{}/v2/harness/kinds/manifests/{child}", registry.url());
                let (status, _, digest, body) = raw_get(&url);
                assert_eq!(status, 200, "{kind} child");
                assert_eq!(digest.as_deref(), Some(child.as_str()));
                assert_eq!(&sha256_digest(&body), child);
            }
        } else {
            assert!(pushed.children.is_empty());
        }
    }
}

#[test]
fn same_seed_same_digest_and_different_seed_different_digest() {
    for kind in Kind::ALL {
        let a = Fixture::new(kind, "seed-a");
        assert_eq!(a.digest(), Fixture::new(kind, "seed-a").digest());
        assert_ne!(a.digest(), Fixture::new(kind, "seed-b").digest());
    }
    // Pinned: lock files committed to the repository name these digests, so
    // a change to the fixture bytes must be a deliberate one.
    for (kind, digest) in PINNED_WEB_1 {
        assert_eq!(Fixture::new(kind, "web-1").digest(), digest, "{kind}");
    }
}

const PINNED_WEB_1: [(Kind, &str); 4] = [
    (
        Kind::DockerV2S2,
        "sha256:fdf47002bfe6cdc87601e9c63f74cb192b5d76cf69ccd20687528b6b8d05915a",
    ),
    (
        Kind::DockerManifestList,
        "sha256:79a174a683c939d51eb884fa87c13887510044d3131c1bc0925a3d03919b74ba",
    ),
    (
        Kind::OciManifest,
        "sha256:be9313d03f2ef473587f4a290c5d5eae37d23a32f6303cfe01dcf0d46233e59e",
    ),
    (
        Kind::OciIndex,
        "sha256:1f3c52b79edf4998ac2d6afbf6e970229ca3b7128bcf8618032c59414cd76820",
    ),
];

#[test]
fn attestation_is_in_the_index_but_not_a_child() {
    let registry = Registry::start().expect("start registry");
    for kind in [Kind::OciIndex, Kind::DockerManifestList] {
        let fixture = Fixture::new(kind, "attested").with_attestation();
        let pushed = registry
            .push("harness/att", kind.name(), &fixture)
            .expect("push");
        assert_eq!(pushed.children.len(), 2);
        let index: serde_json::Value =
            serde_json::from_slice(&fixture.manifest()).expect("index is JSON");
        let entries = index["manifests"].as_array().expect("manifests array");
        assert_eq!(entries.len(), 3);
        let attestation = &entries[2];
        assert_eq!(attestation["platform"]["os"], "unknown");
        assert_eq!(attestation["platform"]["architecture"], "unknown");
        assert_eq!(
            attestation["annotations"]["vnd.docker.reference.type"],
            "attestation-manifest"
        );
        assert_eq!(attestation["mediaType"], media_type::OCI_MANIFEST);
    }
}

#[test]
fn overwritten_tag_moves_and_deleted_manifest_is_gone() {
    let registry = Registry::start().expect("start registry");
    let first = registry
        .push("acme/api", "v1", &Fixture::new(Kind::DockerV2S2, "build-1"))
        .expect("push");
    let second = registry
        .push("acme/api", "v1", &Fixture::new(Kind::DockerV2S2, "build-2"))
        .expect("overwrite");
    assert_ne!(first.digest, second.digest);

    let client = registry.client();
    let served = client.manifest("acme/api", "v1").expect("GET by tag");
    assert_eq!(
        served.digest_header.as_deref(),
        Some(second.digest.as_str())
    );
    // The old manifest stays fetchable by digest until deleted.
    let old = client.manifest("acme/api", &first.digest).expect("GET old");
    assert_eq!(old.status, 200);

    registry
        .delete_manifest("acme/api", &first.digest)
        .expect("delete");
    let old = client.manifest("acme/api", &first.digest).expect("GET old");
    assert_eq!(old.status, 404);
    let head = client
        .head_manifest("acme/api", &first.digest)
        .expect("HEAD old");
    assert_eq!(head.status, 404);
}

#[test]
fn stopped_registry_refuses_connections() {
    let mut registry = Registry::start().expect("start registry");
    registry.stop();
    assert!(registry.client().ping().is_err());
}

#[test]
fn basic_auth_registry_needs_the_credentials() {
    let registry = Registry::start_with(RegistryOptions {
        htpasswd: Some(("alice".into(), "s3cret".into())),
        ..Default::default()
    })
    .expect("start registry with auth");
    let pushed = registry
        .push(
            "private/app",
            "1",
            &Fixture::new(Kind::OciManifest, "private"),
        )
        .expect("push with credentials");
    let (status, _, _, _) = raw_get(&format!(
        "{}/v2/private/app/manifests/{}",
        registry.url(),
        pushed.digest
    ));
    assert_eq!(status, 401);
}

#[test]
fn storage_survives_a_restart() {
    let storage = tempfile::tempdir().expect("temp dir");
    let options = RegistryOptions {
        storage: Some(storage.path().to_path_buf()),
        ..Default::default()
    };
    let pushed = {
        let registry = Registry::start_with(options.clone()).expect("start registry");
        registry
            .push("keep/me", "1", &Fixture::new(Kind::OciIndex, "kept"))
            .expect("push")
    };
    let registry = Registry::start_with(options).expect("restart registry");
    let served = registry.client().manifest("keep/me", "1").expect("GET");
    assert_eq!(served.digest_header, Some(pushed.digest));
}
