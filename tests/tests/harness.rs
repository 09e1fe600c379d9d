//! Tests of the harness itself: the registry it starts serves what it
//! pushes byte-exact, fixtures are deterministic, and each fault of the
//! proxy does what its name says. End-to-end tests of `images` live beside
//! this file, in their own files.

use images_testkit::{
    media_type, sha256_digest, Fault, FaultProxy, Fixture, Kind, Pushed, Registry, RegistryClient,
    RegistryOptions, ACCEPT_ALL_MANIFESTS,
};
use reqwest::blocking::Client;
use std::time::{Duration, Instant};

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

// ---- fault proxy ----------------------------------------------------------

/// A registry with `demo/web:1` (an OCI index) and a proxy in front of it.
fn proxied() -> (Registry, FaultProxy, Pushed) {
    let registry = Registry::start().expect("start registry");
    let pushed = registry
        .push("demo/web", "1", &Fixture::new(Kind::OciIndex, "web-1"))
        .expect("push");
    let proxy = FaultProxy::start(&registry.addr()).expect("start proxy");
    (registry, proxy, pushed)
}

struct Answer {
    status: u16,
    digest: Option<String>,
    content_type: Option<String>,
    retry_after: Option<String>,
    body: Vec<u8>,
}

/// GET or HEAD `demo/web:1` through the proxy, with a short timeout.
fn fetch(proxy: &FaultProxy, method: &str) -> reqwest::Result<Answer> {
    let client = Client::builder().timeout(Duration::from_secs(3)).build()?;
    let url = format!("http://{}/v2/demo/web/manifests/1", proxy.addr());
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let response = client
        .request(method, url)
        .header("Accept", ACCEPT_ALL_MANIFESTS)
        .send()?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_string())
    };
    let (status, digest, content_type, retry_after) = (
        response.status().as_u16(),
        header("docker-content-digest"),
        header("content-type"),
        header("retry-after"),
    );
    let body = response.bytes()?.to_vec();
    Ok(Answer {
        status,
        digest,
        content_type,
        retry_after,
        body,
    })
}

#[test]
fn proxy_relays_unchanged_and_logs_requests() {
    let (_registry, proxy, pushed) = proxied();
    let get = fetch(&proxy, "GET").expect("GET");
    assert_eq!(get.status, 200);
    assert_eq!(get.digest.as_deref(), Some(pushed.digest.as_str()));
    assert_eq!(sha256_digest(&get.body), pushed.digest);
    let head = fetch(&proxy, "HEAD").expect("HEAD");
    assert_eq!(head.digest.as_deref(), Some(pushed.digest.as_str()));
    assert!(head.body.is_empty());
    assert_eq!(
        proxy.requests(),
        [
            "GET /v2/demo/web/manifests/1",
            "HEAD /v2/demo/web/manifests/1"
        ]
    );
}

#[test]
fn proxy_relays_pushes_and_keeps_connections_alive() {
    let (_registry, proxy, _) = proxied();
    // Upload URLs come back rewritten to the proxy, so the whole push goes
    // through it, on kept-alive connections.
    let client = RegistryClient::new(&proxy.addr()).expect("client");
    let pushed = client
        .push(
            "demo/api",
            "2",
            &Fixture::new(Kind::DockerManifestList, "api"),
        )
        .expect("push through the proxy");
    let served = client.manifest("demo/api", "2").expect("GET");
    assert_eq!(served.digest_header, Some(pushed.digest));
    let requests = proxy.requests();
    assert!(requests
        .iter()
        .any(|r| r.starts_with("POST /v2/demo/api/blobs/uploads/")));
    assert!(requests
        .iter()
        .any(|r| r.starts_with("PUT /v2/demo/api/blobs/uploads/")));
}

#[test]
fn status_fault_answers_then_passes_through() {
    let (_registry, proxy, _) = proxied();
    proxy.set(Fault::Status {
        code: 429,
        retry_after: Some("1".into()),
        times: 2,
    });
    for _ in 0..2 {
        let answer = fetch(&proxy, "GET").expect("GET");
        assert_eq!(answer.status, 429);
        assert_eq!(answer.retry_after.as_deref(), Some("1"));
        assert!(String::from_utf8_lossy(&answer.body).contains("TOOMANYREQUESTS"));
    }
    assert_eq!(fetch(&proxy, "GET").expect("GET").status, 200);
    assert_eq!(proxy.requests().len(), 3);
}

#[test]
fn reset_fault_closes_without_answering_then_passes_through() {
    let (_registry, proxy, _) = proxied();
    proxy.set(Fault::Reset { times: 1 });
    assert!(fetch(&proxy, "GET").is_err());
    assert_eq!(fetch(&proxy, "GET").expect("GET").status, 200);
}

#[test]
fn hang_fault_never_answers_and_drop_still_stops_the_proxy() {
    let (_registry, proxy, _) = proxied();
    proxy.set(Fault::Hang);
    let client = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let err = client
        .get(format!("http://{}/v2/", proxy.addr()))
        .send()
        .expect_err("a hung request times out");
    assert!(err.is_timeout(), "{err}");
    let started = Instant::now();
    drop(proxy);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn tamper_fault_changes_the_body_but_not_its_length_or_headers() {
    let (_registry, proxy, pushed) = proxied();
    proxy.set(Fault::TamperBody);
    let answer = fetch(&proxy, "GET").expect("GET");
    assert_eq!(answer.digest.as_deref(), Some(pushed.digest.as_str()));
    assert_ne!(sha256_digest(&answer.body), pushed.digest);
    assert_eq!(
        answer.body.len(),
        Fixture::new(Kind::OciIndex, "web-1").manifest().len()
    );
    serde_json::from_slice::<serde_json::Value>(&answer.body).expect("still JSON");
}

#[test]
fn digest_header_faults_rewrite_or_drop_the_header() {
    let (_registry, proxy, pushed) = proxied();
    let other = Fixture::new(Kind::OciIndex, "other").digest();
    proxy.set(Fault::RewriteDigestHeader(other.clone()));
    for method in ["GET", "HEAD"] {
        let answer = fetch(&proxy, method).expect(method);
        assert_eq!(answer.digest.as_deref(), Some(other.as_str()), "{method}");
    }
    assert_eq!(
        sha256_digest(&fetch(&proxy, "GET").expect("GET").body),
        pushed.digest
    );

    proxy.set(Fault::DropDigestHeader);
    for method in ["GET", "HEAD"] {
        let answer = fetch(&proxy, method).expect(method);
        assert_eq!(answer.status, 200);
        assert_eq!(answer.digest, None, "{method}");
    }
}

#[test]
fn head_not_allowed_fault_refuses_only_head() {
    let (_registry, proxy, _) = proxied();
    proxy.set(Fault::HeadNotAllowed);
    assert_eq!(fetch(&proxy, "HEAD").expect("HEAD").status, 405);
    assert_eq!(fetch(&proxy, "GET").expect("GET").status, 200);
}

#[test]
fn body_fault_replaces_manifest_answers_only() {
    let (_registry, proxy, _) = proxied();
    let page = b"<html><body>Sign in to continue</body></html>".to_vec();
    proxy.set(Fault::Body {
        status: 200,
        content_type: "text/html".into(),
        body: page.clone(),
    });
    let answer = fetch(&proxy, "GET").expect("GET");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type.as_deref(), Some("text/html"));
    assert_eq!(answer.digest, None);
    assert_eq!(answer.body, page);
    let head = fetch(&proxy, "HEAD").expect("HEAD");
    assert_eq!(head.content_type.as_deref(), Some("text/html"));
    // Other paths are relayed.
    let ping = Client::new()
        .get(format!("http://{}/v2/", proxy.addr()))
        .send()
        .expect("ping");
    assert_eq!(ping.status().as_u16(), 200);
}

#[test]
fn truncate_fault_cuts_the_body_short() {
    let (_registry, proxy, _) = proxied();
    proxy.set(Fault::Truncate);
    let err = fetch(&proxy, "GET")
        .err()
        .expect("a truncated body is an error");
    assert!(
        err.is_body() || err.is_decode() || err.is_request(),
        "{err}"
    );
    // HEAD has no body to cut.
    assert_eq!(fetch(&proxy, "HEAD").expect("HEAD").status, 200);
}

#[test]
fn slow_fault_delays_each_answer() {
    let (_registry, proxy, _) = proxied();
    proxy.set(Fault::Slow { delay_ms: 300 });
    let started = Instant::now();
    assert_eq!(fetch(&proxy, "HEAD").expect("HEAD").status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn proxy_answers_502_when_the_registry_is_down() {
    let (mut registry, proxy, _) = proxied();
    registry.stop();
    assert_eq!(fetch(&proxy, "GET").expect("GET").status, 502);
}

// ---- the images-testkit binary ---------------------------------------------

const BIN: &str = env!("CARGO_BIN_EXE_images-testkit");

#[test]
fn binary_runs_a_registry_until_terminated_and_pushes_to_it() {
    use std::io::BufRead as _;
    use std::process::{Command, Stdio};

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let storage = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(BIN)
        .args(["registry", "--port", &port.to_string(), "--storage"])
        .arg(storage.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run images-testkit registry");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read stdout");
    assert_eq!(line.trim(), format!("ready 127.0.0.1:{port}"));

    let output = Command::new(BIN)
        .args(["push", "--registry", &format!("127.0.0.1:{port}")])
        .args([
            "--image",
            "demo/web:1.0",
            "--kind",
            "oci-index",
            "--seed",
            "web-1",
        ])
        .output()
        .expect("run images-testkit push");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert_eq!(
        stdout.trim(),
        Fixture::new(Kind::OciIndex, "web-1").digest()
    );

    // SIGTERM to the PID we started stops the registry itself.
    let killed = Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(killed.success());
    child.wait().expect("wait");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn missing_registry_binary_fails_with_the_install_command() {
    let output = std::process::Command::new(BIN)
        .args(["registry", "--port", "5999"])
        .env("PATH", "/nonexistent")
        .output()
        .expect("run images-testkit registry");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(images_testkit::MISSING_REGISTRY),
        "{stderr}"
    );
}
