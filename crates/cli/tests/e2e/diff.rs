//! `images diff` over a real git repository with two commits of images.lock
//! made by `images lock` against a real registry, and `--textconv` through
//! a real `git diff`.

use std::path::Path;
use std::process::Command;

use images_testkit::{Fixture, Kind, Registry};

use crate::snapshot::{assert_snapshot, redact};
use crate::support::{Project, Run};

/// Runs git in `dir` with the developer's own configuration kept out.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Makes `dir` a git repository with a local identity and commits `files`.
fn init_repository(dir: &Path, files: &[&str]) {
    git(dir, &["init", "--quiet", "--initial-branch=main"]);
    git(dir, &["config", "user.name", "Test"]);
    git(dir, &["config", "user.email", "test@example.invalid"]);
    git(dir, &["config", "commit.gpgsign", "false"]);
    commit(dir, files, "first");
}

fn commit(dir: &Path, files: &[&str], message: &str) {
    git(dir, &[&["add", "--"], files].concat());
    git(dir, &["commit", "--quiet", "-m", message]);
}

/// A repository whose first commit holds a lock of four images; the
/// working tree then holds a second lock in which `api`'s tag moved
/// upstream (and gained a platform), `web` moved to another tag, `base`
/// became mutable, `cache` was added and `old` removed.
struct History {
    _registry: Registry,
    addr: String,
    project: Project,
}

impl History {
    fn build() -> History {
        let registry = Registry::start().expect("start the test registry");
        let a = registry.addr();
        for (repo, tag, fixture) in [
            ("acme/api", "v1", Fixture::new(Kind::OciIndex, "api-1")),
            ("acme/base", "3", Fixture::new(Kind::OciManifest, "base")),
            ("acme/old", "1", Fixture::new(Kind::OciManifest, "old")),
            (
                "acme/web",
                "1.27",
                Fixture::new(Kind::DockerV2S2, "web-1.27"),
            ),
            (
                "acme/web",
                "1.28",
                Fixture::new(Kind::DockerV2S2, "web-1.28"),
            ),
            (
                "acme/cache",
                "7",
                Fixture::new(Kind::DockerManifestList, "cache"),
            ),
        ] {
            registry.push(repo, tag, &fixture).expect("push");
        }
        let project = Project::new(&format!(
            "[images]\napi = \"{a}/acme/api:v1\"\nbase = \"{a}/acme/base:3\"\nold = \"{a}/acme/old:1\"\nweb = \"{a}/acme/web:1.27\"\n"
        ));
        project.images(&["lock"]).expect_code(0);
        init_repository(project.path(), &["images.toml", "images.lock"]);

        // The tag moves upstream: a new build, with one more platform.
        registry
            .push(
                "acme/api",
                "v1",
                &Fixture::new(Kind::OciIndex, "api-2").platforms(&[
                    "linux/amd64",
                    "linux/arm64/v8",
                    "linux/s390x",
                ]),
            )
            .expect("push");
        project.write_manifest(&format!(
            "[images]\napi = \"{a}/acme/api:v1\"\nbase = {{ image = \"{a}/acme/base:3\", mutable = true }}\ncache = \"{a}/acme/cache:7\"\nweb = \"{a}/acme/web:1.28\"\n"
        ));
        project.images(&["lock", "--update", "api"]).expect_code(0);
        History {
            _registry: registry,
            addr: a,
            project,
        }
    }

    fn commit_working_tree(&self) {
        commit(
            self.project.path(),
            &["images.toml", "images.lock"],
            "second lock",
        );
    }

    /// `images ARGS`, expected to succeed, with the registry address redacted.
    fn images(&self, args: &[&str]) -> String {
        let run = self.project.images(args);
        run.expect_code(0);
        assert_eq!(run.stderr, "", "nothing on stderr");
        redact(&run.stdout, &[(&self.addr, "[REGISTRY]")])
    }
}

#[test]
fn diff_groups_working_tree_changes_against_head() {
    let history = History::build();
    assert_snapshot("diff_default.txt", &history.images(&["diff"]));
    assert_snapshot(
        "diff_default.md",
        &history.images(&["diff", "--format", "markdown"]),
    );
    assert_snapshot(
        "diff_default.json",
        &history.images(&["diff", "--format", "json"]),
    );
    assert_snapshot("diff_full.txt", &history.images(&["diff", "--full"]));
}

#[test]
fn diff_of_revisions_and_of_files_match_the_default_report() {
    let history = History::build();
    let formats: [&[&str]; 3] = [&[], &["--format", "markdown"], &["--format", "json"]];
    let default: Vec<String> = formats
        .iter()
        .map(|f| history.images(&[&["diff"], *f].concat()))
        .collect();
    history.commit_working_tree();

    assert_snapshot("diff_no_changes.txt", &history.images(&["diff"]));
    assert_snapshot(
        "diff_no_changes.json",
        &history.images(&["diff", "--format", "json"]),
    );

    let dir = history.project.path();
    std::fs::write(
        dir.join("old.lock"),
        git(dir, &["show", "HEAD~1:images.lock"]),
    )
    .expect("write old.lock");
    for (format, expected) in formats.iter().zip(&default) {
        let revisions = history.images(&[&["diff", "HEAD~1", "HEAD"], *format].concat());
        assert_eq!(
            revisions,
            relabel(expected, "HEAD~1:images.lock", "HEAD:images.lock"),
            "diff HEAD~1 HEAD {format:?}"
        );
        let one_revision = history.images(&[&["diff", "HEAD~1"], *format].concat());
        assert_eq!(
            one_revision,
            relabel(expected, "HEAD~1:images.lock", "images.lock"),
            "diff HEAD~1 {format:?}"
        );
        let files = history.images(&[&["diff", "old.lock", "images.lock"], *format].concat());
        assert_eq!(
            files,
            relabel(expected, "old.lock", "images.lock"),
            "diff old.lock images.lock {format:?}"
        );
    }
}

/// A default-mode report (`HEAD:images.lock` against `images.lock`) with
/// the sides named `old` and `new` instead: the text header and the
/// Markdown line are the only places that name them.
fn relabel(report: &str, old: &str, new: &str) -> String {
    report
        .replace(
            "HEAD:images.lock -> images.lock",
            &format!("{old} -> {new}"),
        )
        .replace(
            "`HEAD:images.lock` → `images.lock`",
            &format!("`{old}` → `{new}`"),
        )
}

#[test]
fn diff_textconv_makes_git_diff_show_lock_changes_by_entry() {
    let history = History::build();
    assert_snapshot(
        "diff_textconv.txt",
        &history.images(&["diff", "--textconv", "images.lock"]),
    );

    history.commit_working_tree();
    let dir = history.project.path();
    std::fs::write(dir.join(".gitattributes"), "images.lock diff=images\n")
        .expect("write .gitattributes");
    let textconv = format!("'{}' diff --textconv", env!("CARGO_BIN_EXE_images"));
    git(dir, &["config", "diff.images.textconv", &textconv]);
    let shown = git(
        dir,
        &[
            "--no-pager",
            "diff",
            "--no-color",
            "HEAD~1",
            "HEAD",
            "--",
            "images.lock",
        ],
    );
    // The `index` line names blob hashes, which depend on the registry port.
    let shown: String = shown
        .lines()
        .filter(|line| !line.starts_with("index "))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_snapshot(
        "diff_git_textconv.txt",
        &redact(&shown, &[(&history.addr, "[REGISTRY]")]),
    );
}

/// A committed lock and a working-tree one, for the error cases that need
/// no registry.
fn repository_with_lock(committed: &str) -> Project {
    let project = Project::new("[images]\n");
    std::fs::write(project.lock_path(), committed).expect("write images.lock");
    init_repository(project.path(), &["images.toml", "images.lock"]);
    project
}

const EMPTY_LOCK: &str =
    "# This file is generated by `images lock`. Do not edit it by hand.\nversion = 1\n";

fn expect_error(run: &Run, expected_stderr: &str) {
    run.expect_code(2);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, expected_stderr);
}

#[test]
fn diff_names_the_committed_side_when_it_is_malformed() {
    let project = repository_with_lock("version = 1\n[[image]]\nname = \"web\"\n");
    std::fs::write(project.lock_path(), EMPTY_LOCK).expect("write images.lock");
    expect_error(
        &project.images(&["diff"]),
        // The excerpt is the committed line: the working tree's lock is
        // another file.
        "error: the old lock `HEAD:images.lock` is malformed\n  |\n2 | [[image]]\n  | ^\n  caused by: HEAD:images.lock:2:1: image `web` has no `reference`\nhint: `images.lock` is written by `images lock`; fix or regenerate it, or compare other revisions\n",
    );
}

#[test]
fn diff_names_the_file_side_when_it_is_malformed() {
    let project = Project::new("[images]\n");
    std::fs::write(project.path().join("a.lock"), EMPTY_LOCK).expect("write a.lock");
    std::fs::write(project.path().join("b.lock"), "not toml [").expect("write b.lock");
    let run = project.images(&["diff", "a.lock", "b.lock"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .starts_with("error: the new lock `b.lock` is malformed\n  |\n1 | not toml [\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("\n  caused by: b.lock:1:"),
        "{}",
        run.stderr
    );
}

#[test]
fn diff_outside_a_git_repository_exits_2_with_a_hint() {
    let project = Project::new("[images]\n");
    std::fs::write(project.lock_path(), EMPTY_LOCK).expect("write images.lock");
    let run = project.images(&["diff"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("is not inside a git repository")
            && run.stderr.ends_with(
                "hint: to compare two lock files, pass both: `images diff OLD_FILE NEW_FILE`\n"
            ),
        "{}",
        run.stderr
    );
}

#[test]
fn diff_of_two_files_needs_no_git_repository() {
    let project = Project::new("[images]\n");
    std::fs::write(project.path().join("a.lock"), EMPTY_LOCK).expect("write a.lock");
    let run = project.images(&["diff", "a.lock", "a.lock"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "No changes: a.lock and a.lock pin the same images\n"
    );
}

#[test]
fn diff_of_an_unknown_revision_exits_2() {
    let project = repository_with_lock(EMPTY_LOCK);
    expect_error(
        &project.images(&["diff", "no-such-branch"]),
        "error: `no-such-branch` is neither a lock file nor a git revision\nhint: pass an existing file, or a revision such as `HEAD~1`, a branch or a commit\n",
    );
}

#[test]
fn diff_against_a_revision_without_a_lock_shows_everything_added() {
    let project = repository_with_lock(EMPTY_LOCK);
    let dir = project.path();
    git(dir, &["rm", "--quiet", "images.lock"]);
    git(dir, &["commit", "--quiet", "-m", "no lock"]);
    let lock = format!(
        "{EMPTY_LOCK}\n[[image]]\nname = \"web\"\nreference = \"docker.io/library/nginx:1.27\"\ndigest = \"sha256:{}\"\nmedia-type = \"application/vnd.oci.image.manifest.v1+json\"\n",
        "ab".repeat(32)
    );
    std::fs::write(project.lock_path(), lock).expect("write images.lock");
    let run = project.images(&["diff"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "HEAD:images.lock -> images.lock: 1 added\n\nadded (1)\n  + web  nginx:1.27  sha256:abababababab\n"
    );
}

#[test]
fn commands_without_markdown_output_reject_it() {
    let project = Project::new("[images]\n");
    expect_error(
        &project.images(&["list", "--format", "markdown"]),
        "error: invalid value 'markdown' for '--format <FORMAT>'\n  [possible values: text, json]\n\nFor more information, try '--help'.\n",
    );
}
