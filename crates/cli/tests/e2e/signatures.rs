//! Signatures: `images lock` locks an entry that requires signers only
//! when its digest carries a valid cosign signature by each, and `verify`
//! tells a signed re-tag from one nobody signed. Every signature here is
//! made by an implementation we did not write: legacy `.sig` by the
//! `sigstore` crate, v3 bundles by sigstore-js (see `images_testkit::signing`).

use images_testkit::signing::{
    sign_bundle, sign_bundle_with, sign_legacy, sign_legacy_flawed, BundleOptions, LegacyFlaw,
    SigningKey, SPDX_PREDICATE,
};
use images_testkit::{Fixture, Kind, Registry};

use crate::sarif::sarif_of;
use crate::support::Project;

struct Scene {
    reg: Registry,
    acme: SigningKey,
    other: SigningKey,
    /// `acme/app:v1`'s digest.
    v1: String,
}

fn scene() -> Scene {
    let reg = Registry::start().expect("start the test registry");
    let v1 = reg
        .push("acme/app", "v1", &Fixture::new(Kind::OciManifest, "app-v1"))
        .expect("push")
        .digest;
    Scene {
        reg,
        acme: SigningKey::generate().expect("key"),
        other: SigningKey::generate().expect("key"),
        v1,
    }
}

impl Scene {
    /// A project requiring `acme` for `app` (`extra` appended to the
    /// entry's table), with the public keys in `keys/`.
    fn project(&self, extra: &str) -> Project {
        let project = Project::new(&format!(
            "[images]\napp = {{ image = \"{}/acme/app:v1\", signed-by = \"acme\"{extra} }}\n\n[signers.acme]\nkeys = [\"keys/acme.pub\"]\n",
            self.reg.addr()
        ));
        self.write_keys(&project);
        project
    }

    fn write_keys(&self, project: &Project) {
        let keys = project.path().join("keys");
        std::fs::create_dir_all(&keys).expect("mkdir");
        std::fs::write(keys.join("acme.pub"), self.acme.public_pem()).expect("write");
        std::fs::write(keys.join("other.pub"), self.other.public_pem()).expect("write");
    }
}

#[test]
fn a_legacy_signature_by_the_signers_key_is_locked_with_its_key_and_artifact() {
    let s = scene();
    let artifact = sign_legacy(&s.reg.addr(), "acme/app", &s.v1, &[&s.acme]).expect("sign");
    let project = s.project("");
    project.images(&["lock"]).expect_code(0);
    let lock = project.lock();
    let entry = &lock.images["app"];
    assert_eq!(entry.signed_by, ["acme"]);
    assert_eq!(entry.signatures.len(), 1);
    assert_eq!(entry.signatures[0].signer, "acme");
    assert_eq!(entry.signatures[0].key.to_string(), s.acme.fingerprint());
    assert_eq!(entry.signatures[0].artifact.to_string(), artifact);
    project.images(&["lock", "--locked"]).expect_code(0);
    project.images(&["verify"]).expect_code(0);
}

#[test]
fn a_v3_bundle_by_the_signers_key_is_locked_with_its_referrer() {
    let s = scene();
    let referrer = sign_bundle(&s.reg.addr(), "acme/app", &s.v1, &s.acme).expect("sign");
    let project = s.project("");
    project.images(&["lock"]).expect_code(0);
    let entry = &project.lock().images["app"];
    assert_eq!(entry.signatures[0].artifact.to_string(), referrer);
    assert_eq!(entry.signatures[0].key.to_string(), s.acme.fingerprint());
    project.images(&["verify"]).expect_code(0);
}

/// `lock` exits 1 naming the signer and what it found, and writes nothing.
#[track_caller]
fn refused(project: &Project, found: &str) {
    let run = project.images(&["lock"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("not signed by acme") && run.stderr.contains(found),
        "expected `{found}`:\n{}",
        run.stderr
    );
    assert!(project.lock_bytes().is_empty(), "nothing was written");
}

#[test]
fn lock_refuses_what_is_not_a_valid_signature_by_the_signer() {
    let s = scene();
    let addr = s.reg.addr();
    let project = s.project("");
    refused(&project, "no signature found");

    sign_legacy(&addr, "acme/app", &s.v1, &[&s.other]).expect("sign");
    refused(&project, "no key of acme verifies");

    let other_image = s
        .reg
        .push("acme/other", "x", &Fixture::new(Kind::OciManifest, "other"))
        .expect("push")
        .digest;
    sign_legacy_flawed(
        &s.reg,
        "acme/app",
        &s.v1,
        &s.acme,
        LegacyFlaw::PayloadNames(other_image),
    )
    .expect("sign");
    refused(&project, "whose payload names another digest");

    sign_legacy_flawed(
        &s.reg,
        "acme/app",
        &s.v1,
        &s.acme,
        LegacyFlaw::BlobDigestMismatch,
    )
    .expect("sign");
    refused(&project, "does not hash to its layer digest");

    sign_legacy_flawed(
        &s.reg,
        "acme/app",
        &s.v1,
        &s.acme,
        LegacyFlaw::FlippedSignature,
    )
    .expect("sign");
    refused(&project, "no key of acme verifies");
}

#[test]
fn lock_refuses_bundles_that_are_not_a_valid_signature_by_the_signer() {
    let s = scene();
    let addr = s.reg.addr();
    let project = s.project("");
    sign_bundle(&addr, "acme/app", &s.v1, &s.other).expect("sign");
    refused(
        &project,
        &format!("another key ({})", s.other.fingerprint()),
    );

    let s = scene();
    let project = s.project("");
    let attestation = BundleOptions {
        predicate_type: SPDX_PREDICATE.to_string(),
        ..BundleOptions::default()
    };
    sign_bundle_with(&s.reg.addr(), "acme/app", &s.v1, &s.acme, &attestation).expect("sign");
    refused(
        &project,
        "an attestation of type `https://spdx.dev/Document`",
    );

    let s = scene();
    let project = s.project("");
    let broken = BundleOptions {
        flip_signature: true,
        ..BundleOptions::default()
    };
    sign_bundle_with(&s.reg.addr(), "acme/app", &s.v1, &s.acme, &broken).expect("sign");
    refused(&project, "does not verify");

    let s = scene();
    let project = s.project("");
    let elsewhere = BundleOptions {
        statement_digest: Some(format!("sha256:{}", "ab".repeat(32))),
        ..BundleOptions::default()
    };
    sign_bundle_with(&s.reg.addr(), "acme/app", &s.v1, &s.acme, &elsewhere).expect("sign");
    refused(&project, "whose payload names another digest");
}

#[test]
fn a_multi_platform_image_is_signed_at_its_index_digest() {
    let s = scene();
    let addr = s.reg.addr();
    let pushed = s
        .reg
        .push("acme/multi", "v1", &Fixture::new(Kind::OciIndex, "multi"))
        .expect("push");
    let child = pushed.children[0].1.clone();
    sign_legacy(&addr, "acme/multi", &child, &[&s.acme]).expect("sign");
    let project = Project::new(&format!(
        "[images]\nmulti = {{ image = \"{addr}/acme/multi:v1\", signed-by = \"acme\" }}\n\n[signers.acme]\nkeys = [\"keys/acme.pub\"]\n"
    ));
    s.write_keys(&project);
    let run = project.images(&["lock"]);
    run.expect_code(1);
    assert!(run.stderr.contains("no signature found"), "{}", run.stderr);
    sign_legacy(&addr, "acme/multi", &pushed.digest, &[&s.acme]).expect("sign");
    project.images(&["lock"]).expect_code(0);
}

#[test]
fn every_required_signer_must_have_signed_and_prefixes_require_theirs() {
    let s = scene();
    let addr = s.reg.addr();
    sign_legacy(&addr, "acme/app", &s.v1, &[&s.acme]).expect("sign");
    // `ops` covers acme/* by prefix; `app` names only acme.
    let project = Project::new(&format!(
        "[images]\napp = {{ image = \"{addr}/acme/app:v1\", signed-by = \"acme\" }}\n\n[signers.acme]\nkeys = [\"keys/acme.pub\"]\n\n[signers.ops]\nkeys = [\"keys/other.pub\"]\nimages = [\"{addr}/acme/*\"]\n"
    ));
    s.write_keys(&project);
    let run = project.images(&["lock"]);
    run.expect_code(1);
    assert!(run.stderr.contains("not signed by ops"), "{}", run.stderr);
    assert!(!run.stderr.contains("not signed by acme"), "{}", run.stderr);
    // The sigstore crate replaces the .sig manifest: both keys in one call.
    sign_legacy(&addr, "acme/app", &s.v1, &[&s.acme, &s.other]).expect("sign");
    project.images(&["lock"]).expect_code(0);
    let entry = &project.lock().images["app"];
    assert_eq!(entry.signed_by, ["acme", "ops"]);
    assert_eq!(entry.signatures.len(), 2);
    // `list` says who signed.
    let list = project.images(&["list"]);
    assert!(
        list.stdout.contains("signed by acme, ops"),
        "{}",
        list.stdout
    );
    let json = project.images(&["list", "--format", "json"]);
    let signed = json.json()["images"][0]["signed_by"].clone();
    assert_eq!(signed[0]["signer"], "acme");
    assert_eq!(signed[0]["key"], s.acme.fingerprint());
    assert_eq!(signed[1]["signer"], "ops");
}

#[test]
fn a_key_rotated_out_of_the_signers_list_makes_the_lock_out_of_date() {
    let s = scene();
    sign_legacy(&s.reg.addr(), "acme/app", &s.v1, &[&s.acme]).expect("sign");
    let project = s.project("");
    project.images(&["lock"]).expect_code(0);
    // Rotation adds the new key first: still up to date.
    let manifest = std::fs::read_to_string(project.path().join("images.toml")).expect("read");
    project.write_manifest(&manifest.replace(
        "keys = [\"keys/acme.pub\"]",
        "keys = [\"keys/acme.pub\", \"keys/other.pub\"]",
    ));
    project.images(&["lock", "--locked"]).expect_code(0);
    // Dropping the key the lock recorded: out of date, offline.
    project.write_manifest(&manifest.replace("keys/acme.pub", "keys/other.pub"));
    project.images(&["lock", "--locked"]).expect_code(1);
    let list = project.images(&["list", "--format", "json"]);
    assert_eq!(list.json()["images"][0]["status"], "stale");
    // Signed with the new key, re-locked: the diff shows the key change.
    std::fs::write(project.path().join("old.lock"), project.lock_bytes()).expect("keep");
    sign_legacy(&s.reg.addr(), "acme/app", &s.v1, &[&s.other]).expect("sign");
    project.images(&["lock"]).expect_code(0);
    let diff = project.images(&["diff", "old.lock", "images.lock"]);
    diff.expect_code(0);
    assert!(
        diff.stdout.contains("signed by: acme (key sha256:")
            && diff.stdout.contains(") -> acme (key sha256:"),
        "{}",
        diff.stdout
    );
}

#[test]
fn verify_tells_a_signed_move_from_an_unsigned_one() {
    let s = scene();
    let addr = s.reg.addr();
    sign_legacy(&addr, "acme/app", &s.v1, &[&s.acme]).expect("sign");
    let project = s.project(", mutable = true");
    project.images(&["lock"]).expect_code(0);

    // The publisher rebuilds and signs: a mutable entry only warns.
    let v2 = s
        .reg
        .push("acme/app", "v1", &Fixture::new(Kind::OciManifest, "app-v2"))
        .expect("push")
        .digest;
    sign_legacy(&addr, "acme/app", &v2, &[&s.acme]).expect("sign");
    let run = project.images(&["verify"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("new digest signed by acme"),
        "{}",
        run.stdout
    );
    let json = project.images(&["verify", "--format", "json"]);
    assert_eq!(json.json()["images"][0]["signed"], true);
    let (rule, level) = first_result(&project, 0);
    assert_eq!((rule.as_str(), level.as_str()), ("tag-moved", "warning"));

    // An attacker pushes over it without the key: fails even when mutable.
    let evil = s
        .reg
        .push("acme/app", "v1", &Fixture::new(Kind::OciManifest, "evil"))
        .expect("push")
        .digest;
    let run = project.images(&["verify"]);
    run.expect_code(1);
    assert!(
        run.stdout.contains("NOT signed") && run.stdout.contains("not signed by acme"),
        "{}",
        run.stdout
    );
    let json = project.images(&["verify", "--format", "json"]);
    json.expect_code(1);
    assert_eq!(json.json()["images"][0]["signed"], false);
    assert_eq!(json.json()["images"][0]["current"], evil);
    let (rule, level) = first_result(&project, 1);
    assert_eq!(
        (rule.as_str(), level.as_str()),
        ("tag-moved-unsigned", "error")
    );
}

/// The rule and level of the first result `verify --format sarif` reports,
/// exiting with `code`.
#[track_caller]
fn first_result(project: &Project, code: i32) -> (String, String) {
    let log = sarif_of(project, &["verify"], code);
    let result = &log["runs"][0]["results"][0];
    let field = |key: &str| result[key].as_str().unwrap_or_default().to_owned();
    (field("ruleId"), field("level"))
}

#[test]
fn verify_reports_a_recorded_signature_that_disappeared() {
    let s = scene();
    let artifact = sign_legacy(&s.reg.addr(), "acme/app", &s.v1, &[&s.acme]).expect("sign");
    let project = s.project("");
    project.images(&["lock"]).expect_code(0);
    s.reg
        .delete_manifest("acme/app", &artifact)
        .expect("delete the .sig");
    let run = project.images(&["verify"]);
    run.expect_code(1);
    assert!(
        run.stdout.contains("signature gone") && run.stdout.contains("not signed by acme"),
        "{}",
        run.stdout
    );
    let (rule, level) = first_result(&project, 1);
    assert_eq!((rule.as_str(), level.as_str()), ("signature-gone", "error"));
    // Signed again (a new artifact): verify finds the new one valid.
    sign_legacy(&s.reg.addr(), "acme/app", &s.v1, &[&s.acme]).expect("sign");
    project.images(&["verify"]).expect_code(0);
}

#[test]
fn a_signed_entry_costs_a_few_requests_more_at_lock_and_one_head_at_verify() {
    use images_testkit::FaultProxy;
    let s = scene();
    sign_legacy(&s.reg.addr(), "acme/app", &s.v1, &[&s.acme]).expect("sign");
    let proxy = FaultProxy::start(&s.reg.addr()).expect("start proxy");
    let project = Project::new(&format!(
        "[images]\napp = {{ image = \"{}/acme/app:v1\", signed-by = \"acme\" }}\nplain = \"{0}/acme/app:v1\"\n\n[signers.acme]\nkeys = [\"keys/acme.pub\"]\n",
        proxy.addr()
    ));
    s.write_keys(&project);
    project.images(&["lock"]).expect_code(0);
    let requests = proxy.requests();
    let signature_requests: Vec<&String> = requests
        .iter()
        .filter(|r| {
            r.contains(".sig")
                || r.contains("/blobs/")
                || r.contains("referrers")
                || r.contains("/manifests/sha256-")
        })
        .collect();
    // The .sig manifest, its payload blob, the referrers API (404 on this
    // registry) and its tag-schema fallback (404: no bundle).
    assert_eq!(signature_requests.len(), 4, "{requests:#?}");
    eprintln!(
        "lock: {} requests for a signed and an unsigned entry of one tag: {requests:#?}",
        requests.len()
    );

    proxy.clear_requests();
    project.images(&["verify"]).expect_code(0);
    let requests = proxy.requests();
    let heads = requests
        .iter()
        .filter(|r| r.starts_with("HEAD ") && r.contains("/manifests/"))
        .count();
    // The tag (once for both entries) and the recorded .sig manifest.
    assert_eq!(heads, 2, "{requests:#?}");
    assert!(
        !requests.iter().any(|r| r.contains("/blobs/")),
        "an unmoved, still-signed tag needs no signature re-check: {requests:#?}"
    );
}
