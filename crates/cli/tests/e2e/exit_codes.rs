//! One rule picks the exit code when a run has several outcomes (any drift
//! or tampering -> 1; else any bad input -> 2; else anything not checked
//! -> 3; else 0), and a stdout that cannot take the report never changes
//! the code the checks computed.

use std::process::Stdio;

use images_testkit::{Fixture, Kind, Registry};

use crate::support::{Project, Run};

/// A project declaring `api = "REG/acme/api:v1"`, pushed and locked.
pub(crate) fn locked_api(reg: &Registry) -> Project {
    reg.push("acme/api", "v1", &Fixture::new(Kind::OciManifest, "api"))
        .expect("push");
    let project = Project::new(&format!("[images]\napi = \"{}/acme/api:v1\"\n", reg.addr()));
    project.images(&["lock"]).expect_code(0);
    project
}

/// Pushes another image over `acme/api:v1`: a locked `api` now drifts.
fn move_api(reg: &Registry) {
    reg.push(
        "acme/api",
        "v1",
        &Fixture::new(Kind::OciManifest, "api-attacker"),
    )
    .expect("push");
}

/// `api` locked at `acme/api:v1` on `reg`, then the tag moved: drift.
fn moved_api(reg: &Registry) -> Project {
    let project = locked_api(reg);
    move_api(reg);
    project
}

/// `api` and `db` locked on two registries; then `api`'s tag moved and
/// `db`'s registry stopped.
fn moved_api_and_unreachable_db() -> (Registry, Registry, Project) {
    let reg = Registry::start().expect("start the test registry");
    let mut down = Registry::start().expect("start the second registry");
    reg.push("acme/api", "v1", &Fixture::new(Kind::OciManifest, "api"))
        .expect("push");
    down.push("acme/db", "16", &Fixture::new(Kind::OciManifest, "db"))
        .expect("push");
    let project = Project::new(&format!(
        "[images]\napi = \"{}/acme/api:v1\"\ndb = \"{}/acme/db:16\"\n",
        reg.addr(),
        down.addr()
    ));
    project.images(&["lock"]).expect_code(0);
    move_api(&reg);
    down.stop();
    (reg, down, project)
}

/// Runs `images ARGS` with its stdout a pipe whose reading end is closed
/// before `images` writes anything (`images verify | true`).
fn with_stdout_closed(project: &Project, args: &[&str]) -> Run {
    let mut child = project
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run images");
    drop(child.stdout.take());
    Run::from(child.wait_with_output().expect("wait for images"))
}

/// Runs `images ARGS` with its stdout on `/dev/full`: every write fails
/// with "no space left on device".
fn with_stdout_full(project: &Project, args: &[&str]) -> Run {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full");
    Run::from(
        project
            .command(args)
            .stdout(full)
            .output()
            .expect("run images"),
    )
}

#[test]
fn a_closed_stdout_does_not_turn_drift_into_success() {
    let reg = Registry::start().expect("start the test registry");
    let project = moved_api(&reg);
    for format in ["text", "json", "github"] {
        let run = with_stdout_closed(&project, &["verify", "--format", format]);
        run.expect_code(1);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        // A closed pipe is the reader's choice, not an error to report.
        assert!(!run.stderr.contains("stdout"), "{}", run.stderr);
    }
    // Offline too: `pin --check` finds an unpinned reference.
    std::fs::write(
        project.path().join("Dockerfile"),
        format!("FROM {}/acme/api:v1\n", reg.addr()),
    )
    .expect("write Dockerfile");
    project.images(&["lock", "--update"]).expect_code(0);
    with_stdout_closed(&project, &["pin", "--check"]).expect_code(1);
    with_stdout_closed(&project, &["pin", "--check", "--format", "json"]).expect_code(1);
}

#[test]
fn a_stdout_that_cannot_be_written_is_an_error_and_drift_still_wins() {
    let reg = Registry::start().expect("start the test registry");
    let project = moved_api(&reg);
    // The report could not be delivered: that is not success.
    let run = with_stdout_full(&project, &["list"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("cannot write to stdout"),
        "{}",
        run.stderr
    );
    // The tag moved: the code stays 1, and the lost report is still said.
    let run = with_stdout_full(&project, &["verify"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("cannot write to stdout"),
        "{}",
        run.stderr
    );
}

#[test]
fn verify_with_drift_and_an_unreachable_registry_exits_1() {
    let (_reg, _down, project) = moved_api_and_unreachable_db();

    let run = project.images(&["verify", "--timeout", "5"]);
    run.expect_code(1);
    assert!(run.stdout.contains("tag moved: api"), "{}", run.stdout);
    assert!(run.stdout.contains("could not check: db"), "{}", run.stdout);
    let report = project
        .images(&["verify", "--timeout", "5", "--format", "json"])
        .expect_code(1)
        .json();
    assert_eq!(report["exit_code"], 1);
}

#[test]
fn lock_locked_with_a_moved_tag_and_an_unreachable_registry_exits_1() {
    let (_reg, _down, project) = moved_api_and_unreachable_db();
    let before = project.lock_bytes();

    // The lock is out of date (api moved) whatever db would have said.
    let run = project.images(&["lock", "--locked", "--update", "--timeout", "5"]);
    run.expect_code(1);
    assert!(run.stderr.contains("--locked"), "{}", run.stderr);
    assert!(run.stderr.contains("db: "), "{}", run.stderr);
    assert_eq!(project.lock_bytes(), before, "--locked never writes");
    // Only `db` re-resolved and it cannot be reached: nothing is known
    // to be out of date.
    project
        .images(&["lock", "--locked", "--update", "db", "--timeout", "5"])
        .expect_code(3);
}

#[test]
fn pin_check_with_drift_and_a_bad_file_exits_1() {
    let reg = Registry::start().expect("start the test registry");
    let project = locked_api(&reg);
    std::fs::write(
        project.path().join("Dockerfile"),
        format!("FROM {}/acme/api:v1\n", reg.addr()),
    )
    .expect("write Dockerfile");
    std::fs::create_dir_all(project.path().join("deploy")).expect("mkdir deploy");
    std::fs::write(
        project.path().join("deploy/broken.yaml"),
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: \"unclosed\n",
    )
    .expect("write broken.yaml");

    for format in ["text", "json", "github"] {
        let run = project.images(&["pin", "--check", "--format", format]);
        // The unpinned reference is drift; the broken file must not hide it.
        run.expect_code(1);
    }
    let report = project
        .images(&["pin", "--check", "--format", "json"])
        .json();
    assert_eq!(report["exit_code"], 1);
    assert_eq!(report["errors"].as_array().map(Vec::len), Some(1));
    // Without the unpinned reference, the broken file alone is bad input.
    project.images(&["pin"]).expect_code(2);
    project.images(&["pin", "--check"]).expect_code(2);
}

#[test]
fn bad_input_and_an_unreachable_registry_exit_2() {
    let reg = Registry::start().expect("start the test registry");
    let mut down = Registry::start().expect("start the second registry");
    let down_addr = down.addr();
    down.stop();
    // `missing` does not exist (the user's mistake); `db` cannot be asked.
    let project = Project::new(&format!(
        "[images]\nmissing = \"{}/acme/missing:v1\"\ndb = \"{down_addr}/acme/db:16\"\n",
        reg.addr()
    ));
    let run = project.images(&["lock", "--timeout", "5"]);
    run.expect_code(2);
    assert!(run.stderr.contains("missing"), "{}", run.stderr);
    assert!(run.stderr.contains("db"), "{}", run.stderr);
    assert!(!project.lock_path().exists(), "nothing is written");
}

#[test]
fn a_file_pin_cannot_write_is_not_bad_input() {
    let reg = Registry::start().expect("start the test registry");
    let project = locked_api(&reg);
    // Readable, but its temporary file's name is too long to create (even
    // root cannot write it): the write fails, the user's input is fine.
    let name = format!("{}.dockerfile", "a".repeat(240));
    let text = format!("FROM {}/acme/api:v1\n", reg.addr());
    std::fs::write(project.path().join(&name), &text).expect("write Dockerfile");

    let run = project.images(&["pin"]);
    run.expect_code(3);
    assert!(run.stderr.contains("cannot be written"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(project.path().join(&name)).expect("read"),
        text
    );
}
