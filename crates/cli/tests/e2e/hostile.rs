//! The "faults and hostile answers" table of the design, row by row, each
//! through the fault proxy in front of a real registry.
//!
//! A redirect from HTTPS to plain HTTP needs an HTTPS registry to
//! redirect, and our loopback registries are plain HTTP by default: that
//! row is tested where the registry serves TLS (`tls.rs`).

use std::time::{Duration, Instant};

use images_testkit::{Fault, FaultProxy, Fixture, Kind, Registry, RegistryOptions};

use crate::faults::setup;
use crate::support::Project;

/// A liveness bound, not a performance target: a run that faces a fault
/// which never clears must end by itself, well before this.
const GIVES_UP_WITHIN: Duration = Duration::from_secs(60);

/// The manifest GETs and HEADs the proxy saw.
fn manifest_requests(proxy: &FaultProxy) -> usize {
    proxy
        .requests()
        .iter()
        .filter(|r| r.contains("/manifests/"))
        .count()
}

#[test]
fn rate_limits_with_retry_after_in_seconds_are_retried_until_they_clear() {
    let s = setup(Kind::OciIndex);
    s.proxy.set(Fault::Status {
        code: 429,
        retry_after: Some("1".into()),
        times: 2,
    });
    s.project.images(&["lock"]).expect_code(0);
    // Two answers were 429 (the ping's or the manifest's), then it worked.
    assert!(manifest_requests(&s.proxy) >= 2, "{:?}", s.proxy.requests());
    assert!(s.proxy.requests().len() >= 3, "{:?}", s.proxy.requests());
}

/// A `Retry-After` date further ahead than a run waits (Docker Hub's pull
/// limit lasts hours): the run ends at once, exit 3, saying how long the
/// registry asked for, instead of waiting or hammering it.
#[test]
fn rate_limits_with_retry_after_as_a_far_http_date_end_the_run_saying_how_long() {
    let s = setup(Kind::DockerV2S2);
    s.project.images(&["lock"]).expect_code(0);
    s.proxy.set(Fault::Status {
        code: 429,
        retry_after: Some("Fri, 01 Jan 2100 00:00:00 GMT".into()),
        times: 2,
    });
    let started = Instant::now();
    let run = s.project.images(&["verify"]);
    run.expect_code(3);
    assert!(started.elapsed() < GIVES_UP_WITHIN);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(said.contains("asked to be asked again in"), "{said}");
}

/// Runs `lock` against 429s carrying `retry_after`, and returns how long
/// the client waited after the last 429 before asking again.
fn wait_after_rate_limit(retry_after: &str) -> Duration {
    let s = setup(Kind::OciIndex);
    // Two: whichever request comes first (a ping is only a hint) and the
    // manifest request itself.
    s.proxy.set(Fault::Status {
        code: 429,
        retry_after: Some(retry_after.into()),
        times: 2,
    });
    s.project.images(&["lock"]).expect_code(0);
    let times = s.proxy.request_times();
    assert!(times.len() >= 3, "{:?}", s.proxy.requests());
    times[2].duration_since(times[1])
}

#[test]
fn a_429_with_retry_after_2_seconds_is_retried_no_sooner_than_2_s_later() {
    let waited = wait_after_rate_limit("2");
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}");
}

#[test]
fn a_429_with_retry_after_as_an_http_date_is_retried_no_sooner_than_it_says() {
    // Whole seconds: 4 s ahead is at least 3 s once formatted.
    let when = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(4));
    let waited = wait_after_rate_limit(&when);
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}");
}

/// A `Docker-Content-Digest` in sha512 that matches the body is a correct
/// answer, not tampering: `lock` records the sha256 of the bytes and
/// `verify`, whose HEAD then names a digest in another algorithm than the
/// lock's, checks by hashing the body.
#[test]
fn a_correct_sha512_digest_header_is_accepted() {
    let s = setup(Kind::OciManifest);
    let served = s.reg.client().manifest("acme/api", "v1").expect("manifest");
    s.proxy.set(Fault::Sha512DigestHeader);
    s.project.images(&["lock"]).expect_code(0);
    assert_eq!(
        s.project.lock().images["api"].digest.to_string(),
        images_testkit::sha256_digest(&served.body)
    );
    s.project.images(&["verify"]).expect_code(0);
}

#[test]
fn bursts_of_502_and_503_are_retried_until_they_clear() {
    let s = setup(Kind::DockerManifestList);
    s.proxy.set(Fault::Status {
        code: 502,
        retry_after: None,
        times: 3,
    });
    s.project.images(&["lock"]).expect_code(0);
    s.proxy.set(Fault::Status {
        code: 503,
        retry_after: Some("0".into()),
        times: 3,
    });
    s.project.images(&["verify"]).expect_code(0);
}

#[test]
fn connection_resets_are_retried_until_they_clear() {
    let s = setup(Kind::OciManifest);
    s.proxy.set(Fault::Reset { times: 3 });
    s.project.images(&["lock"]).expect_code(0);
    assert!(s.project.lock_path().exists());
}

/// Runs `images ARGS` against a fault that never clears: it must end by
/// itself with exit 3, well within [`GIVES_UP_WITHIN`], and write nothing.
fn expect_give_up(fault: Fault, args: &[&str], says: &str) {
    let s = setup(Kind::OciIndex);
    s.proxy.set(fault);
    let started = Instant::now();
    let run = s.project.images(args);
    let took = started.elapsed();
    run.expect_code(3);
    assert!(took < GIVES_UP_WITHIN, "took {took:?}");
    assert!(run.stderr.contains(says), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(!s.project.lock_path().exists());
    // It did retry: more than one try at the manifest (or the ping).
    assert!(s.proxy.requests().len() > 2, "{:?}", s.proxy.requests());
}

#[test]
fn persistent_rate_limiting_gives_up_in_bounded_time_with_exit_3() {
    expect_give_up(
        Fault::Status {
            code: 429,
            retry_after: None,
            times: usize::MAX,
        },
        &["lock"],
        "429",
    );
}

/// Asked to wait an hour, a run says so and ends at once (exit 3): it does
/// not retry against the registry's wish, nor wait past any CI timeout.
#[test]
fn a_retry_after_longer_than_the_run_waits_ends_it_at_once_saying_how_long() {
    let s = setup(Kind::OciIndex);
    s.proxy.set(Fault::Status {
        code: 429,
        retry_after: Some("3600".into()),
        times: usize::MAX,
    });
    let started = Instant::now();
    let run = s.project.images(&["lock"]);
    run.expect_code(3);
    assert!(started.elapsed() < GIVES_UP_WITHIN);
    assert!(
        run.stderr
            .contains("answered 429 and asked to be asked again in 3600s"),
        "{}",
        run.stderr
    );
    assert!(!s.project.lock_path().exists());
}

#[test]
fn persistent_503_gives_up_in_bounded_time_with_exit_3() {
    expect_give_up(
        Fault::Status {
            code: 503,
            retry_after: None,
            times: usize::MAX,
        },
        &["lock"],
        "503",
    );
}

#[test]
fn persistent_connection_resets_give_up_in_bounded_time_with_exit_3() {
    expect_give_up(
        Fault::Reset { times: usize::MAX },
        &["lock"],
        "cannot reach registry",
    );
}

#[test]
fn a_hanging_request_times_out_per_request_in_bounded_time_with_exit_3() {
    expect_give_up(
        Fault::Hang,
        &["lock", "--timeout", "1"],
        "did not answer within 1s",
    );
}

#[test]
fn verify_never_trusts_a_header_digest_that_differs_from_the_body() {
    let s = setup(Kind::OciIndex);
    s.project.images(&["lock"]).expect_code(0);
    let forged = format!("sha256:{}", "e".repeat(64));
    s.proxy.set(Fault::RewriteDigestHeader(forged.clone()));
    let run = s.project.images(&["verify", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(report["images"][0]["status"], "tampered", "{report}");
    // The forged digest is reported as what the registry claimed, never
    // recorded: the lock still holds the digest of the real body.
    let locked = s.project.lock();
    assert_ne!(locked.images["api"].digest.to_string(), forged);
}

#[test]
fn a_manifest_over_4_mib_is_refused_and_nothing_is_written() {
    let s = setup(Kind::OciManifest);
    // Valid JSON, a real manifest shape, just too big.
    let padding = " ".repeat(5 * 1024 * 1024);
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{}},"layers":[]{padding}}}"#
    );
    s.proxy.set(Fault::Body {
        status: 200,
        content_type: "application/vnd.oci.image.manifest.v1+json".into(),
        body: body.into_bytes(),
    });
    let run = s.project.images(&["lock"]);
    assert_ne!(run.code, 0);
    // The registry's answer cannot be used: could not check, not bad input.
    run.expect_code(3);
    assert!(
        run.stderr.contains("over the 4194304 byte limit"),
        "{}",
        run.stderr
    );
    assert!(!s.project.lock_path().exists());
}

/// Peak resident memory of a running process in KiB, from `/proc`; 0 once
/// it has exited.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Peak resident memory allowed while an endless body arrives: the 4 MiB
/// cap, the binary and its runtime, with room to spare. A body read whole
/// before the cap is checked takes gigabytes here within seconds.
const ENDLESS_BODY_RSS_LIMIT_KIB: u64 = 64 * 1024;

/// An endless body ends at the 4 MiB cap, not at the timeout: exit 3, a
/// clear message, nothing written, and memory bounded by the cap (the
/// body is read in a stream and cut there), whatever the timeout. The
/// timeout is long on purpose, so only the cap can end the run in time.
#[test]
fn an_endless_body_ends_with_a_clear_error_in_bounded_time() {
    let s = setup(Kind::OciManifest);
    s.proxy.set(Fault::Endless);
    let started = Instant::now();
    let mut child = s
        .project
        .command(&["lock", "--timeout", "20"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn images");
    let mut peak = 0;
    while child.try_wait().expect("wait for images").is_none() {
        peak = peak.max(peak_rss_kib(child.id()));
        assert!(
            started.elapsed() < GIVES_UP_WITHIN,
            "still running after {GIVES_UP_WITHIN:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = crate::support::Run::from(child.wait_with_output().expect("output of images"));
    run.expect_code(3);
    assert!(
        run.stderr.contains("over the 4194304 byte limit"),
        "{}",
        run.stderr
    );
    assert!(!s.project.lock_path().exists());
    eprintln!("peak RSS while reading an endless body: {peak} KiB");
    assert!(
        peak < ENDLESS_BODY_RSS_LIMIT_KIB,
        "peak RSS {peak} KiB while reading an endless body"
    );
}

#[test]
fn a_truncated_body_is_a_clear_error_and_nothing_is_written() {
    let s = setup(Kind::OciIndex);
    s.proxy.set(Fault::Truncate);
    let run = s.project.images(&["lock"]);
    run.expect_code(3);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.stderr.contains("acme/api"), "{}", run.stderr);
    assert!(!s.project.lock_path().exists());
}

/// The `Content-Type` header is not covered by the digest; the body's own
/// `mediaType` is. So a wrong header (a proxy that says `text/plain`) is
/// accepted, and the lock records the type the body declares.
#[test]
fn a_wrong_content_type_is_ignored_in_favour_of_the_body_s_own_media_type() {
    let s = setup(Kind::DockerManifestList);
    s.proxy.set(Fault::ContentType("text/plain".into()));
    s.project.images(&["lock"]).expect_code(0);
    let locked = s.project.lock();
    assert_eq!(
        locked.images["api"].media_type,
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
    s.project.images(&["verify"]).expect_code(0);
}

/// A registry with basic auth behind two proxies: `images` talks to
/// `front`, which redirects manifest requests to `other`, a different
/// host:port in front of the same registry.
#[test]
fn a_redirect_to_another_host_carries_no_credentials() {
    let reg = Registry::start_with(RegistryOptions {
        htpasswd: Some(("alice".into(), "redirect-secret".into())),
        ..Default::default()
    })
    .expect("start the registry with auth");
    reg.push("acme/api", "v1", &Fixture::new(Kind::OciManifest, "api"))
        .expect("push");
    let front = FaultProxy::start(&reg.addr()).expect("start proxy");
    let other = FaultProxy::start(&reg.addr()).expect("start proxy");
    let project = Project::new(&format!(
        "[images]\napi = \"{}/acme/api:v1\"\n",
        front.addr()
    ));
    std::fs::write(
        project.docker_config_dir().join("config.json"),
        format!(
            r#"{{"auths":{{"{}":{{"username":"alice","password":"redirect-secret"}}}}}}"#,
            front.addr()
        ),
    )
    .expect("write config.json");

    // Without the redirect the credentials work, and are sent to `front`.
    project.images(&["lock"]).expect_code(0);
    assert!(
        front
            .request_header("authorization")
            .iter()
            .any(|(line, value)| line.contains("/manifests/") && value.is_some()),
        "{:?}",
        front.request_header("authorization")
    );

    std::fs::remove_file(project.lock_path()).expect("remove the lock");
    front.set(Fault::Redirect {
        status: 307,
        location: format!("http://{}", other.addr()),
    });
    let run = project.images(&["lock"]);
    // `other` gets no credentials, so the registry behind it refuses.
    run.expect_code(3);
    let seen = other.request_header("authorization");
    assert!(!seen.is_empty(), "the redirect was not followed");
    assert!(
        seen.iter().all(|(_, value)| value.is_none()),
        "credentials reached another host: {seen:?}"
    );
    assert!(!run.stderr.contains("redirect-secret"), "{}", run.stderr);
    assert!(!project.lock_path().exists());
}

/// On an open registry a redirect elsewhere is followed, and what counts
/// is still the body's own hash, not where it came from.
#[test]
fn a_redirected_manifest_is_still_hashed() {
    let s = setup(Kind::OciIndex);
    let served = s.reg.client().manifest("acme/api", "v1").expect("manifest");
    let expected = images_testkit::sha256_digest(&served.body);
    let other = FaultProxy::start(&s.reg.addr()).expect("start proxy");
    s.proxy.set(Fault::Redirect {
        status: 302,
        location: format!("http://{}", other.addr()),
    });
    s.project.images(&["lock"]).expect_code(0);
    assert_eq!(s.project.lock().images["api"].digest.to_string(), expected);
    other.set(Fault::TamperBody);
    // A fresh lock GETs through the redirect (`lock --update` of a tag
    // whose HEAD still names the locked digest fetches nothing).
    std::fs::remove_file(s.project.lock_path()).expect("remove the lock");
    s.project.images(&["lock"]).expect_code(1);
}

#[test]
fn lock_fails_as_a_whole_listing_a_missing_and_a_tampered_image() {
    let reg = Registry::start().expect("start the test registry");
    reg.push("acme/api", "v1", &Fixture::new(Kind::OciIndex, "api"))
        .expect("push");
    reg.push("acme/web", "v1", &Fixture::new(Kind::OciManifest, "web"))
        .expect("push");
    let proxy = FaultProxy::start(&reg.addr()).expect("start proxy");
    proxy.set(Fault::TamperBody);
    let project = Project::new(&format!(
        "[images]\n\
         api = \"{proxy}/acme/api:v1\"\n\
         gone = \"{reg}/acme/gone:v1\"\n\
         web = \"{reg}/acme/web:v1\"\n",
        proxy = proxy.addr(),
        reg = reg.addr(),
    ));
    let run = project.images(&["lock"]);
    // Tampering outranks the missing tag in the exit code.
    run.expect_code(1);
    assert!(
        run.stderr.contains("could not lock 2 image(s)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("api:"), "{}", run.stderr);
    assert!(run.stderr.contains("tampered"), "{}", run.stderr);
    assert!(run.stderr.contains("gone:"), "{}", run.stderr);
    assert!(run.stderr.contains("not found"), "{}", run.stderr);
    assert!(!run.stderr.contains("web:"), "{}", run.stderr);
    assert!(!project.lock_path().exists());
}
