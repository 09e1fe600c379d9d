//! `images` against a client we did not write: skopeo reads the manifests
//! `images lock` pinned, and pushes (copies) images that `images` then
//! locks and verifies.

use std::process::Command;

use images_lockfile::Digest;
use images_testkit::{find_on_path, Fixture, Kind, Registry};

use crate::support::Project;

const KINDS: [(Kind, &str); 4] = [
    (Kind::DockerV2S2, "docker-manifest"),
    (Kind::DockerManifestList, "docker-list"),
    (Kind::OciManifest, "oci-manifest"),
    (Kind::OciIndex, "oci-index"),
];

/// Runs skopeo against the plain-HTTP test registry; its stdout.
#[track_caller]
fn skopeo(args: &[&str]) -> Vec<u8> {
    assert!(
        find_on_path("skopeo").is_some(),
        "skopeo not found on PATH: install it with `apt-get install -y skopeo` (scripts/install-deps.sh does)"
    );
    let output = Command::new("skopeo")
        .args(args)
        .output()
        .expect("run skopeo");
    assert!(
        output.status.success(),
        "skopeo {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The manifest bytes skopeo receives for `reference`, hashed.
fn skopeo_digest(reference: &str) -> Digest {
    let raw = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{reference}"),
    ]);
    Digest::sha256_of(&raw)
}

/// `skopeo copy` of every platform, keeping the manifests byte for byte.
fn skopeo_copy(from: &str, to: &str) {
    skopeo(&[
        "copy",
        "--all",
        "--preserve-digests",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &format!("docker://{from}"),
        &format!("docker://{to}"),
    ]);
}

/// A project declaring each of [`KINDS`] as `ADDR/PREFIX/NAME:v1`, locked.
fn locked_project(addr: &str, prefix: &str) -> Project {
    let mut manifest = String::from("[images]\n");
    for (_, name) in KINDS {
        manifest.push_str(&format!("{name} = \"{addr}/{prefix}/{name}:v1\"\n"));
    }
    let project = Project::new(&manifest);
    project.images(&["lock"]).expect_code(0);
    project
}

#[test]
fn the_digest_images_locks_is_the_sha256_of_what_skopeo_receives() {
    let reg = Registry::start().expect("start the test registry");
    let addr = reg.addr();
    for (kind, name) in KINDS {
        reg.push(&format!("acme/{name}"), "v1", &Fixture::new(kind, name))
            .expect("push");
    }
    let lock = locked_project(&addr, "acme").lock();
    for (_, name) in KINDS {
        assert_eq!(
            lock.images[name].digest,
            skopeo_digest(&format!("{addr}/acme/{name}:v1")),
            "{name}"
        );
    }
}

#[test]
fn images_pushed_by_skopeo_lock_verify_and_catch_an_overwrite() {
    let reg = Registry::start().expect("start the test registry");
    let addr = reg.addr();
    for (kind, name) in KINDS {
        reg.push(&format!("src/{name}"), "v1", &Fixture::new(kind, name))
            .expect("push");
    }
    reg.push(
        "src/attacker",
        "v1",
        &Fixture::new(Kind::OciIndex, "attacker"),
    )
    .expect("push");

    // skopeo publishes the release; images pins it.
    for (_, name) in KINDS {
        skopeo_copy(
            &format!("{addr}/src/{name}:v1"),
            &format!("{addr}/release/{name}:v1"),
        );
    }
    let project = locked_project(&addr, "release");
    let lock = project.lock();
    for (_, name) in KINDS {
        assert_eq!(
            lock.images[name].digest,
            skopeo_digest(&format!("{addr}/src/{name}:v1")),
            "a digest-preserving copy locks at the source's digest: {name}"
        );
    }
    project.images(&["verify"]).expect_code(0);

    // A leaked credential used with skopeo overwrites one tag.
    skopeo_copy(
        &format!("{addr}/src/attacker:v1"),
        &format!("{addr}/release/oci-index:v1"),
    );
    let run = project.images(&["verify"]);
    run.expect_code(1);
    assert!(
        run.stdout.contains("tag moved: oci-index"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&skopeo_digest(&format!("{addr}/src/attacker:v1")).to_string()),
        "names the attacker's digest: {}",
        run.stdout
    );
}
