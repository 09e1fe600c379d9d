//! `images verify`, the CI gate, against a real registry.

use images_testkit::{Fixture, Kind, Registry};

use crate::support::Project;

fn registry() -> Registry {
    Registry::start().expect("start the test registry")
}

/// A locked project with one image `api` at `acme/api:v1.2.11`.
fn locked_api(reg: &Registry, kind: Kind, mutable: bool) -> (Project, String) {
    let pushed = reg
        .push("acme/api", "v1.2.11", &Fixture::new(kind, "api-good"))
        .expect("push");
    let project = Project::new(&format!(
        "[images]\napi = {{ image = \"{}/acme/api:v1.2.11\", mutable = {mutable} }}\n",
        reg.addr()
    ));
    project.images(&["lock"]).expect_code(0);
    (project, pushed.digest)
}

#[test]
fn verify_passes_when_no_tag_moved() {
    let reg = registry();
    for kind in [
        Kind::DockerV2S2,
        Kind::DockerManifestList,
        Kind::OciManifest,
        Kind::OciIndex,
    ] {
        let (project, _) = locked_api(&reg, kind, false);
        let run = project.images(&["verify"]);
        run.expect_code(0);
        assert!(run.stdout.contains("ok api"), "{}", run.stdout);
    }
}

#[test]
fn verify_fails_when_tag_overwritten() {
    let reg = registry();
    let (project, locked) = locked_api(&reg, Kind::DockerV2S2, false);
    let before = project.lock_bytes();
    // An attacker with a leaked push credential pushes another image under the same tag.
    let evil = reg
        .push(
            "acme/api",
            "v1.2.11",
            &Fixture::new(Kind::DockerV2S2, "attacker"),
        )
        .expect("push");

    let run = project.images(&["verify"]);
    run.expect_code(1);
    assert!(run.stdout.contains("tag moved: api"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&locked),
        "names the locked digest: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&evil.digest),
        "names the current digest: {}",
        run.stdout
    );
    assert_eq!(project.lock_bytes(), before, "verify never writes the lock");

    let report = project
        .images(&["verify", "--format", "json"])
        .expect_code(1)
        .json();
    let image = &report["images"][0];
    assert_eq!(image["status"], "tag-moved");
    assert_eq!(image["locked"], locked.as_str());
    assert_eq!(image["current"], evil.digest.as_str());
    assert_eq!(report["ok"], false);
}

#[test]
fn verify_only_warns_when_a_mutable_tag_moves() {
    let reg = registry();
    let (project, _) = locked_api(&reg, Kind::OciIndex, true);
    reg.push(
        "acme/api",
        "v1.2.11",
        &Fixture::new(Kind::OciIndex, "rebuilt"),
    )
    .expect("push");
    let run = project.images(&["verify"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("tag moved (mutable, warning): api"),
        "{}",
        run.stdout
    );
}

#[test]
fn verify_tells_a_gone_tag_from_a_gone_locked_digest() {
    let reg = registry();
    let (project, locked) = locked_api(&reg, Kind::OciManifest, false);
    // Move the tag, then delete the manifest the lock points at.
    reg.push(
        "acme/api",
        "v1.2.11",
        &Fixture::new(Kind::OciManifest, "next"),
    )
    .expect("push");
    reg.delete_manifest("acme/api", &locked).expect("delete");
    let report = project
        .images(&["verify", "--format", "json"])
        .expect_code(1)
        .json();
    assert_eq!(report["images"][0]["status"], "locked-digest-gone");

    // Deleting the manifest the tag names removes the tag.
    let current = report["images"][0]["current"]
        .as_str()
        .expect("current digest")
        .to_string();
    reg.delete_manifest("acme/api", &current).expect("delete");
    let report = project
        .images(&["verify", "--format", "json"])
        .expect_code(1)
        .json();
    assert_eq!(report["images"][0]["status"], "tag-gone");
}

#[test]
fn verify_fails_when_the_lock_is_out_of_date() {
    let reg = registry();
    let (project, _) = locked_api(&reg, Kind::DockerV2S2, false);
    project.write_manifest(&format!(
        "[images]\napi = {{ image = \"{}/acme/api:v1.2.12\" }}\n",
        reg.addr()
    ));
    let run = project.images(&["verify"]);
    run.expect_code(1);
    assert!(
        run.stdout.contains("lock out of date: api"),
        "{}",
        run.stdout
    );
}

#[test]
fn verify_exits_3_when_the_registry_is_down() {
    let mut reg = registry();
    let (project, _) = locked_api(&reg, Kind::DockerV2S2, false);
    reg.stop();
    let run = project.images(&["verify", "--timeout", "5"]);
    run.expect_code(3);
    assert!(
        run.stdout.contains("could not check: api"),
        "{}",
        run.stdout
    );
}

#[test]
fn verify_without_a_lock_says_how_to_make_one() {
    let project = Project::new("[images]\napi = \"127.0.0.1:9/acme/api:v1\"\n");
    let run = project.images(&["verify"]);
    run.expect_code(2);
    assert!(run.stderr.contains("images lock"), "{}", run.stderr);
}
