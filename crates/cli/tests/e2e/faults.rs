//! Hostile answers between the client and a real registry, through our fault proxy.

use images_testkit::{Fault, FaultProxy, Fixture, Kind, Registry};

use crate::support::Project;

pub(crate) struct Setup {
    pub reg: Registry,
    pub proxy: FaultProxy,
    pub project: Project,
}

/// `api` pushed to the registry and declared through the proxy's address.
pub(crate) fn setup(kind: Kind) -> Setup {
    let reg = Registry::start().expect("start the test registry");
    reg.push("acme/api", "v1", &Fixture::new(kind, "api"))
        .expect("push");
    let proxy = FaultProxy::start(&reg.addr()).expect("start proxy");
    let project = Project::new(&format!(
        "[images]\napi = \"{}/acme/api:v1\"\n",
        proxy.addr()
    ));
    Setup {
        reg,
        proxy,
        project,
    }
}

#[test]
fn lock_refuses_a_body_altered_in_flight_and_writes_nothing() {
    let s = setup(Kind::OciIndex);
    s.proxy.set(Fault::TamperBody);
    let run = s.project.images(&["lock"]);
    run.expect_code(1);
    assert!(run.stderr.contains("tampered"), "{}", run.stderr);
    assert!(!s.project.lock_path().exists());
}

#[test]
fn lock_never_trusts_a_rewritten_digest_header() {
    let s = setup(Kind::DockerV2S2);
    s.proxy.set(Fault::RewriteDigestHeader(format!(
        "sha256:{}",
        "0".repeat(64)
    )));
    let run = s.project.images(&["lock"]);
    run.expect_code(1);
    assert!(run.stderr.contains("tampered"), "{}", run.stderr);
    assert!(!s.project.lock_path().exists());
}

#[test]
fn verify_reports_tampering_as_a_security_finding() {
    let s = setup(Kind::OciManifest);
    s.project.images(&["lock"]).expect_code(0);
    // The tag moves, and the new answer is altered on the way.
    s.reg
        .push("acme/api", "v1", &Fixture::new(Kind::OciManifest, "api-2"))
        .expect("push");
    s.proxy.set(Fault::TamperBody);
    let report = s
        .project
        .images(&["verify", "--format", "json"])
        .expect_code(1)
        .json();
    assert_eq!(report["images"][0]["status"], "tampered");
}

#[test]
fn a_missing_digest_header_falls_back_to_hashing_the_body() {
    let s = setup(Kind::DockerManifestList);
    s.proxy.set(Fault::DropDigestHeader);
    s.project.images(&["lock"]).expect_code(0);
    s.project.images(&["verify"]).expect_code(0);
    s.proxy.set(Fault::HeadNotAllowed);
    s.project.images(&["verify"]).expect_code(0);
}

#[test]
fn transient_failures_are_retried_until_they_clear() {
    let s = setup(Kind::OciIndex);
    s.proxy.set(Fault::Status {
        code: 503,
        retry_after: None,
        times: 2,
    });
    s.project.images(&["lock"]).expect_code(0);
    s.proxy.set(Fault::Reset { times: 1 });
    s.project.images(&["verify"]).expect_code(0);
}

#[test]
fn persistent_server_errors_exit_3() {
    let s = setup(Kind::OciIndex);
    s.proxy.set(Fault::Status {
        code: 502,
        retry_after: None,
        times: usize::MAX,
    });
    let run = s.project.images(&["lock"]);
    run.expect_code(3);
    assert!(!s.project.lock_path().exists());
}

#[test]
fn a_hanging_registry_times_out_with_exit_3() {
    let s = setup(Kind::OciIndex);
    s.proxy.set(Fault::Hang);
    let run = s.project.images(&["lock", "--timeout", "1"]);
    run.expect_code(3);
    assert!(run.stderr.contains("did not answer"), "{}", run.stderr);
}

#[test]
fn html_and_garbage_answers_are_clear_errors() {
    let s = setup(Kind::OciIndex);
    s.proxy.set(Fault::Body {
        status: 200,
        content_type: "text/html".into(),
        body: b"<html><body>Welcome to the captive portal</body></html>".to_vec(),
    });
    let run = s.project.images(&["lock"]);
    assert_ne!(run.code, 0);
    // The registry's answer cannot be used: could not check, not bad input.
    run.expect_code(3);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(!s.project.lock_path().exists());
}
