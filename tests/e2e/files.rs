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

#[test]
fn lock_locked_never_writes_even_a_reformat() {
    let reg = Registry::start().expect("start the test registry");
    reg.push("acme/api", "v1", &Fixture::new(Kind::OciIndex, "api"))
        .expect("push");
    let project = Project::new(&format!("[images]\napi = \"{}/acme/api:v1\"\n", reg.addr()));
    project.images(&["lock"]).expect_code(0);
    // Up to date in content, indented by hand.
    let reindented = String::from_utf8(project.lock_bytes())
        .expect("utf-8")
        .replace("\nname = ", "\n  name = ");
    std::fs::write(project.lock_path(), &reindented).expect("write");
    let run = project.images(&["lock", "--locked"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("not in the form `images lock` writes"),
        "{}",
        run.stderr
    );
    assert_eq!(project.lock_bytes(), reindented.as_bytes());
    // Without --locked the same run rewrites it in canonical form.
    project.images(&["lock"]).expect_code(0);
    project.images(&["lock", "--locked"]).expect_code(0);

    // No lock at all and nothing declared: --locked still writes nothing.
    let empty = Project::new("[images]\n");
    empty.images(&["lock", "--locked"]).expect_code(1);
    assert!(!empty.lock_path().exists());
}

#[test]
fn a_symlinked_lock_and_manifest_are_written_through_to_their_targets() {
    let reg = Registry::start().expect("start the test registry");
    reg.push("acme/api", "v1", &Fixture::new(Kind::OciIndex, "api"))
        .expect("push");
    reg.push("acme/db", "16", &Fixture::new(Kind::OciManifest, "db"))
        .expect("push");
    let addr = reg.addr();
    let project = Project::new(&format!("[images]\napi = \"{addr}/acme/api:v1\"\n"));
    project.images(&["lock"]).expect_code(0);
    // Both files live in `shared/`, the project has links to them.
    let shared = project.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    for file in ["images.lock", "images.toml"] {
        std::fs::rename(project.path().join(file), shared.join(file)).expect("move");
        std::os::unix::fs::symlink(format!("shared/{file}"), project.path().join(file))
            .expect("symlink");
    }
    project
        .images(&["add", "db", &format!("{addr}/acme/db:16")])
        .expect_code(0);
    for file in ["images.lock", "images.toml"] {
        let link = project.path().join(file);
        let meta = std::fs::symlink_metadata(&link).expect("stat");
        assert!(meta.file_type().is_symlink(), "{file} is still a link");
        let target = std::fs::read_to_string(shared.join(file)).expect("read target");
        assert!(
            target.contains("acme/db:16"),
            "{file}'s target has the new entry:\n{target}"
        );
    }
    project.images(&["remove", "db"]).expect_code(0);
    let target = std::fs::read_to_string(shared.join("images.lock")).expect("read target");
    assert!(!target.contains("acme/db"), "{target}");
    assert!(std::fs::symlink_metadata(project.lock_path())
        .expect("stat")
        .file_type()
        .is_symlink());
    project.images(&["verify"]).expect_code(0);
}

#[test]
fn add_and_remove_keep_a_bom_and_crlf_line_endings() {
    let reg = Registry::start().expect("start the test registry");
    reg.push("acme/api", "v1", &Fixture::new(Kind::OciIndex, "api"))
        .expect("push");
    reg.push("acme/db", "16", &Fixture::new(Kind::OciManifest, "db"))
        .expect("push");
    let addr = reg.addr();
    let windows = format!(
        "\u{feff}# Made on Windows.\r\n[images]\r\napi = \"{addr}/acme/api:v1\" # the API\r\n"
    );
    let project = Project::new(&windows);
    let manifest = project.path().join("images.toml");
    project
        .images(&["add", "db", &format!("{addr}/acme/db:16")])
        .expect_code(0);
    let added = std::fs::read_to_string(&manifest).expect("read");
    assert_eq!(added, format!("{windows}db = \"{addr}/acme/db:16\"\r\n"));
    project.images(&["remove", "db"]).expect_code(0);
    assert_eq!(std::fs::read_to_string(&manifest).expect("read"), windows);
    project.images(&["verify"]).expect_code(0);
}
