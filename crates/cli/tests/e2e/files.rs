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

/// Waits until `child`'s stderr has a line containing `needle` (at most
/// 60 s), returning what it read so far.
fn wait_for_stderr(child: &mut std::process::Child, needle: &str) -> String {
    use std::io::{BufRead, BufReader};
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        match rx.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
                if line.contains(needle) {
                    return seen;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!("no `{needle}` on stderr; it said:\n{seen}");
}

#[test]
fn a_second_run_waits_for_the_project_lock_and_says_so() {
    let reg = Registry::start().expect("start the test registry");
    reg.push("acme/api", "v1", &Fixture::new(Kind::OciIndex, "api"))
        .expect("push");
    let project = Project::new(&format!("[images]\napi = \"{}/acme/api:v1\"\n", reg.addr()));
    // The test plays the first run: it holds the lock `images` takes.
    let held = std::fs::File::open(project.path()).expect("open the project dir");
    held.lock().expect("lock the project dir");
    let mut child = project
        .command(&["lock"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn images");
    wait_for_stderr(&mut child, "Blocking waiting for file lock");
    assert!(
        !project.lock_path().exists(),
        "nothing is read or written while waiting"
    );
    drop(held);
    let status = child.wait().expect("wait for images");
    assert_eq!(status.code(), Some(0));
    assert_eq!(project.lock().images.len(), 1);
}

#[test]
fn two_adds_at_once_both_keep_their_entry() {
    let reg = Registry::start().expect("start the test registry");
    reg.push("acme/api", "v1", &Fixture::new(Kind::OciIndex, "api"))
        .expect("push");
    let addr = reg.addr();
    for round in 0..8 {
        let project = Project::new("[images]\n");
        let children: Vec<_> = ["one", "two"]
            .iter()
            .map(|name| {
                project
                    .command(&["add", name, &format!("{addr}/acme/api:v1")])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("spawn images")
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().expect("wait");
            assert_eq!(output.status.code(), Some(0), "round {round}");
        }
        let manifest = std::fs::read_to_string(project.path().join("images.toml")).expect("read");
        assert!(
            manifest.contains("one =") && manifest.contains("two ="),
            "round {round}: an entry was lost:\n{manifest}"
        );
        let lock = project.lock();
        assert_eq!(
            lock.images.len(),
            2,
            "round {round}: the lock lost an entry"
        );
    }
}

#[test]
fn a_failed_add_never_undoes_an_edit_made_while_it_ran() {
    use images_testkit::{Fault, FaultProxy};
    let reg = Registry::start().expect("start the test registry");
    let proxy = FaultProxy::start(&reg.addr()).expect("start proxy");
    proxy.set(Fault::Slow { delay_ms: 1500 });
    let project = Project::new("[images]\n");
    let manifest = project.path().join("images.toml");
    let mut child = project
        .command(&["add", "gone", &format!("{}/acme/gone:v1", proxy.addr())])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn images");
    // Once `add` has written its entry, someone edits the file.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let edited = loop {
        let text = std::fs::read_to_string(&manifest).unwrap_or_default();
        if text.contains("gone =") {
            let edited = format!("{text}# edited while add ran\n");
            std::fs::write(&manifest, &edited).expect("edit");
            break edited;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "add never wrote its entry"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let stderr = wait_for_stderr(&mut child, "was not added");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("changed by someone else meanwhile"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&manifest).expect("read"), edited);
}

#[test]
fn ctrl_c_ends_a_wait_for_the_project_lock() {
    let project = Project::new("[images]\n");
    let held = std::fs::File::open(project.path()).expect("open the project dir");
    held.lock().expect("lock the project dir");
    let mut child = project
        .command(&["lock"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn images");
    wait_for_stderr(&mut child, "Blocking waiting for file lock");
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait for images");
    assert_eq!(status.code(), Some(130));
    assert!(!project.lock_path().exists());
}
