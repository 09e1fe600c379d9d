//! What `images pin --diff` and `images lock --locked` show: the unified
//! diff of the change they did not write, which `git apply` turns into
//! exactly what `images pin` / `images lock` would have written.

use std::path::Path;

use images_testkit::{Fixture, Kind, Registry};

use crate::support::{Project, Run};

fn read(project: &Project, path: &str) -> String {
    std::fs::read_to_string(project.path().join(path)).expect("read file")
}

/// Applies `diff` in `dir` with `git apply` (no repository needed).
fn git_apply(dir: &Path, diff: &str) {
    let patch = dir.join("change.diff");
    std::fs::write(&patch, diff).expect("write the diff");
    let run = Run::from(
        std::process::Command::new("git")
            .args(["apply", "change.diff"])
            .current_dir(dir)
            .output()
            .expect("run git apply"),
    );
    run.expect_code(0);
    std::fs::remove_file(patch).expect("remove the diff");
}

/// A locked project whose Dockerfile and compose file name its two images
/// by tag only.
fn unpinned_project(reg: &Registry) -> Project {
    let addr = reg.addr();
    reg.push("acme/api", "v1", &Fixture::new(Kind::OciIndex, "api"))
        .expect("push");
    reg.push("acme/db", "16", &Fixture::new(Kind::DockerV2S2, "db"))
        .expect("push");
    let project = Project::new(&format!(
        "[images]\napi = \"{addr}/acme/api:v1\"\ndb = \"{addr}/acme/db:16\"\n"
    ));
    std::fs::write(
        project.path().join("Dockerfile"),
        format!("FROM {addr}/acme/api:v1\nRUN make\n"),
    )
    .expect("write");
    std::fs::write(
        project.path().join("compose.yaml"),
        format!("services:\n  db:\n    image: {addr}/acme/db:16\n    ports: [\"5432\"]\n"),
    )
    .expect("write");
    project.images(&["lock"]).expect_code(0);
    project
}

#[test]
fn pin_check_diff_prints_the_diff_pin_would_apply_and_writes_nothing() {
    let reg = Registry::start().expect("start the test registry");
    let project = unpinned_project(&reg);
    let dockerfile = read(&project, "Dockerfile");
    let compose = read(&project, "compose.yaml");
    let api = project.lock().images["api"].digest.to_string();

    let run = project.images(&["pin", "--check", "--diff"]);
    run.expect_code(1);
    let addr = reg.addr();
    assert!(
        run.stdout.contains(&format!(
            "--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1,2 +1,2 @@\n-FROM {addr}/acme/api:v1\n+FROM {addr}/acme/api:v1@{api}\n RUN make\n"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("--- a/compose.yaml\n"),
        "{}",
        run.stdout
    );
    assert_eq!(read(&project, "Dockerfile"), dockerfile);
    assert_eq!(read(&project, "compose.yaml"), compose);

    // Without --check: the same diff, nothing written, pin's exit code.
    let dry = project.images(&["pin", "--diff"]);
    dry.expect_code(0);
    assert!(dry.stderr.contains("would be pinned"), "{}", dry.stderr);
    assert_eq!(read(&project, "Dockerfile"), dockerfile);
    let diff: String = dry.stdout.clone();
    assert!(run.stdout.ends_with(&diff), "{}\n---\n{diff}", run.stdout);

    // The diff is the fix: applied, it gives what `images pin` writes.
    git_apply(project.path(), &diff);
    let applied = (read(&project, "Dockerfile"), read(&project, "compose.yaml"));
    std::fs::write(project.path().join("Dockerfile"), &dockerfile).expect("write");
    std::fs::write(project.path().join("compose.yaml"), &compose).expect("write");
    project.images(&["pin"]).expect_code(0);
    assert_eq!(
        applied,
        (read(&project, "Dockerfile"), read(&project, "compose.yaml"))
    );

    // Nothing left to pin: no diff.
    let clean = project.images(&["pin", "--check", "--diff"]);
    clean.expect_code(0);
    assert!(!clean.stdout.contains("---"), "{}", clean.stdout);
    let json = project.images(&["pin", "--check", "--diff", "--format", "json"]);
    json.expect_code(0);
    assert_eq!(json.json()["diff"], "");
}

#[test]
fn pin_check_diff_in_json_carries_the_diff() {
    let reg = Registry::start().expect("start the test registry");
    let project = unpinned_project(&reg);
    let text = project.images(&["pin", "--diff"]);
    let run = project.images(&["pin", "--check", "--diff", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(run.json()["diff"], text.stdout.as_str());
}

#[test]
fn lock_locked_shows_the_lock_diff_it_refused_to_write() {
    let reg = Registry::start().expect("start the test registry");
    let project = unpinned_project(&reg);
    let manifest = read(&project, "images.toml");
    let lock = read(&project, "images.lock");
    // `db` removed from images.toml: known offline, the diff is complete.
    let without_db: String = manifest
        .lines()
        .filter(|l| !l.starts_with("db = "))
        .map(|l| format!("{l}\n"))
        .collect();
    project.write_manifest(&without_db);

    let run = project.images(&["lock", "--locked"]);
    run.expect_code(1);
    assert_eq!(read(&project, "images.lock"), lock, "--locked never writes");
    let diff = &run.stderr[..run.stderr.find("error:").expect("an error")];
    assert!(
        diff.starts_with("--- a/images.lock\n+++ b/images.lock\n"),
        "{}",
        run.stderr
    );
    git_apply(project.path(), diff);
    let applied = read(&project, "images.lock");
    std::fs::write(project.lock_path(), &lock).expect("write");
    project.images(&["lock"]).expect_code(0);
    assert_eq!(applied, read(&project, "images.lock"));

    // `web` renamed `new`: the new entry needs the registry, which
    // `--locked` does not ask, so the diff shows `web` going and leaves
    // `new` out, saying so.
    project.write_manifest(&format!("{manifest}web = \"{}/acme/api:v1\"\n", reg.addr()));
    project.images(&["lock"]).expect_code(0);
    project.write_manifest(&format!("{manifest}new = \"{}/acme/api:v1\"\n", reg.addr()));
    let run = project.images(&["lock", "--locked"]);
    run.expect_code(1);
    assert!(run.stderr.contains("\n-name = \"web\"\n"), "{}", run.stderr);
    assert!(!run.stderr.contains("name = \"new\""), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("not in the diff: the digests of new, which only the registry can tell"),
        "{}",
        run.stderr
    );
}
