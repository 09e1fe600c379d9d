//! "Files are never lost or bricked": whatever a registry answers, a signal
//! or a second run does, images.lock and images.toml stay readable and
//! nothing in them is lost.

use images_testkit::{Fixture, Kind, Registry};

use crate::support::Project;

/// An index whose platforms a registry stores without complaint but the
/// OCI spec does not allow, beside ones that only differ in case.
fn odd_platforms() -> Fixture {
    Fixture::new(Kind::OciIndex, "odd").raw_platforms(&[
        ("Linux", "AMD64", None),
        ("linux", "arm64", Some("V8")),
        ("", "arm", None),
        (" ", "ppc64le", None),
        ("linux", "amd64/v3", None),
        ("linux", "arm", Some("v7\"\n")),
        ("linüx", "s390x", None),
    ])
}

#[test]
fn platforms_a_registry_sends_never_brick_the_lock() {
    let reg = Registry::start().expect("start the test registry");
    reg.push("acme/odd", "1", &odd_platforms()).expect("push");
    let addr = reg.addr();
    let project = Project::new(&format!(
        "[images]\nodd = \"{addr}/acme/odd:1\"\namd = {{ image = \"{addr}/acme/odd:1\", platforms = [\"linux/amd64\"] }}\n"
    ));
    let run = project.images(&["lock"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("warning: odd: left out index entries"),
        "{}",
        run.stderr
    );
    // Escaped, so the newline in the variant cannot start a line of its own.
    assert!(run.stderr.contains(r#"v7\"\n"#), "{}", run.stderr);
    let lock = project.lock();
    let platforms: Vec<String> = lock.images["odd"]
        .manifests
        .iter()
        .map(|m| m.platform.to_string())
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64/v8"]);
    assert_eq!(lock.images["amd"].manifests.len(), 1);

    // Every command can read the project's own lock.
    project.images(&["verify"]).expect_code(0);
    project.images(&["list"]).expect_code(0);
    project.images(&["lock", "--locked"]).expect_code(0);
    project.images(&["lock", "--update"]).expect_code(0);
    project.images(&["remove", "amd"]).expect_code(0);
    project
        .images(&["add", "amd", &format!("{addr}/acme/odd:1")])
        .expect_code(0);
}

#[test]
fn a_platform_asked_for_among_unreadable_entries_is_a_registry_error() {
    let reg = Registry::start().expect("start the test registry");
    reg.push("acme/odd", "1", &odd_platforms()).expect("push");
    let project = Project::new(&format!(
        "[images]\nodd = {{ image = \"{}/acme/odd:1\", platforms = [\"linux/s390x\"] }}\n",
        reg.addr()
    ));
    let run = project.images(&["lock"]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("has no readable manifest for platform `linux/s390x`"),
        "{}",
        run.stderr
    );
    assert!(project.lock_bytes().is_empty(), "no lock was written");
}
