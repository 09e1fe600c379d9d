//! `images pin`: locked digests written into Dockerfiles, compose files,
//! Kubernetes manifests and workflows, byte for byte.
//!
//! The fixture tree `fixtures/pin/project` is copied into a scratch project
//! with `[REGISTRY]` replaced by the test registry's address; rewritten
//! files are compared with snapshots (`snapshots/pin_*`), the address
//! redacted back to `[REGISTRY]`. Fixture images are deterministic by seed,
//! so the digests in the snapshots are stable.

use std::path::{Path, PathBuf};

use images_testkit::{Fixture, Kind, Registry};

use crate::snapshot::{assert_snapshot, redact};
use crate::support::Project;

const PLACEHOLDER: &str = "[REGISTRY]";

/// The files `images pin` rewrites in the fixture tree.
const PINNED_FILES: [&str; 5] = [
    "Dockerfile",
    "services/api/api.dockerfile",
    "docker-compose.yml",
    "deploy/acme.yaml",
    ".github/workflows/ci.yml",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/fixtures/pin")
}

/// The images the fixture tree names, each pushed under its own seed.
const IMAGES: [(&str, &str, &str, Kind); 7] = [
    ("builder", "acme/builder", "1.22", Kind::OciIndex),
    ("runtime", "acme/runtime", "3.20", Kind::DockerManifestList),
    ("tools", "acme/tools", "1", Kind::OciManifest),
    ("api", "acme/api", "v1", Kind::DockerV2S2),
    ("web", "acme/web", "1.0", Kind::OciIndex),
    ("db", "acme/db", "16", Kind::OciManifest),
    ("sidecar", "acme/sidecar", "2", Kind::DockerV2S2),
];

/// A registry holding the fixture images and a project holding the
/// fixture tree, with images.toml declaring every image and a fresh lock.
fn pinned_project() -> (Registry, Project) {
    let reg = Registry::start().expect("start the test registry");
    let addr = reg.addr();
    let mut manifest = String::from("[images]\n");
    for (name, repo, tag, kind) in IMAGES {
        reg.push(repo, tag, &Fixture::new(kind, name))
            .expect("push");
        manifest.push_str(&format!("{name} = \"{addr}/{repo}:{tag}\"\n"));
    }
    let project = Project::new(&manifest);
    copy_tree(&fixtures().join("project"), project.path(), &addr);
    project.images(&["lock"]).expect_code(0);
    (reg, project)
}

/// Copies `from` into `to`, putting the registry address in place of the placeholder.
pub(crate) fn copy_tree(from: &Path, to: &Path, addr: &str) {
    for entry in std::fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            std::fs::create_dir_all(&target).expect("create dir");
            copy_tree(&entry.path(), &target, addr);
        } else {
            let text = std::fs::read_to_string(entry.path()).expect("read fixture");
            std::fs::write(&target, text.replace(PLACEHOLDER, addr)).expect("write fixture");
        }
    }
}

fn read(project: &Project, file: &str) -> String {
    std::fs::read_to_string(project.path().join(file)).expect("read project file")
}

#[test]
fn pin_rewrites_each_file_to_the_locked_digests_and_keeps_every_other_byte() {
    let (reg, project) = pinned_project();
    let run = project.images(&["pin"]);
    run.expect_code(0);
    for file in PINNED_FILES {
        let name = format!("pin_{}", file.trim_start_matches('.').replace('/', "_"));
        let actual = redact(&read(&project, file), &[(&reg.addr(), PLACEHOLDER)]);
        assert_snapshot(&name, &actual);
    }
    assert!(
        read(&project, "deploy/acme.yaml")
            .split('\n')
            .all(|l| l.is_empty() || l.ends_with('\r')),
        "a CRLF manifest stays CRLF"
    );
    // Skipped directories are never read, let alone rewritten.
    assert_eq!(
        read(&project, "node_modules/pkg/Dockerfile"),
        format!("FROM {}/acme/never:1\n", reg.addr())
    );
    assert!(
        run.stderr.contains("Pinned 16 reference(s) in 5 file(s)"),
        "{}",
        run.stderr
    );
    // `FROM ${RUNTIME}` is pinned at the ARG default it uses (line 3).
    assert!(
        !run.stderr.contains("`${RUNTIME}` left alone"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("1 reference(s) not declared in images.toml were left alone"),
        "{}",
        run.stderr
    );
}

#[test]
fn second_pin_changes_nothing_and_writes_nothing() {
    let (_registry, project) = pinned_project();
    project.images(&["pin"]).expect_code(0);
    let before: Vec<(Vec<u8>, std::time::SystemTime)> = PINNED_FILES
        .iter()
        .map(|f| {
            let path = project.path().join(f);
            let modified = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .expect("mtime");
            (std::fs::read(&path).expect("read"), modified)
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let run = project.images(&["pin", "--format", "json"]);
    run.expect_code(0);
    assert_eq!(run.json()["written"], serde_json::json!([]));
    for (file, (bytes, modified)) in PINNED_FILES.iter().zip(before) {
        let path = project.path().join(file);
        assert_eq!(std::fs::read(&path).expect("read"), bytes, "{file} changed");
        assert_eq!(
            std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .expect("mtime"),
            modified,
            "{file} was written again"
        );
    }
}

#[test]
fn pin_replaces_a_stale_digest_after_the_tag_moves_and_is_relocked() {
    let (reg, project) = pinned_project();
    project.images(&["pin"]).expect_code(0);
    let old = project.lock().images["db"].digest.to_string();
    let new = reg
        .push(
            "acme/db",
            "16",
            &Fixture::new(Kind::OciManifest, "db-rebuilt"),
        )
        .expect("push");
    project.images(&["lock", "--update", "db"]).expect_code(0);

    let check = project.images(&["pin", "--check", "deploy/acme.yaml"]);
    check.expect_code(1);
    assert!(
        check.stdout.contains("deploy/acme.yaml:58: `"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("is pinned to another digest"),
        "{}",
        check.stdout
    );

    project.images(&["pin"]).expect_code(0);
    for file in [
        "deploy/acme.yaml",
        "docker-compose.yml",
        ".github/workflows/ci.yml",
    ] {
        let text = read(&project, file);
        assert!(!text.contains(&old), "{file} still has the old digest");
        assert!(text.contains(&new.digest), "{file} lacks the new digest");
    }
}

#[test]
fn pin_check_lists_file_and_line_of_each_reference_not_pinned() {
    let (_registry, project) = pinned_project();
    let run = project.images(&["pin", "--check"]);
    run.expect_code(1);
    let locations: Vec<&str> = run
        .stdout
        .lines()
        .map(|l| l.split(": ").next().unwrap_or_default())
        .collect();
    assert_eq!(
        locations,
        [
            ".github/workflows/ci.yml:10",
            ".github/workflows/ci.yml:13",
            ".github/workflows/ci.yml:22",
            ".github/workflows/ci.yml:25",
            "Dockerfile:3",
            "Dockerfile:5",
            "Dockerfile:24",
            "Dockerfile:27",
            "deploy/acme.yaml:35",
            "deploy/acme.yaml:39",
            "deploy/acme.yaml:42",
            "deploy/acme.yaml:58",
            "docker-compose.yml:3",
            "docker-compose.yml:16",
            "docker-compose.yml:19",
            "docker-compose.yml:25",
            "services/api/api.dockerfile:1",
        ],
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("docker-compose.yml:25: `nginx:1.27` is not declared"),
        "{}",
        run.stdout
    );
    // --check wrote nothing.
    assert!(!read(&project, "Dockerfile").contains("@sha256:"));

    project.images(&["pin"]).expect_code(0);
    let run = project.images(&["pin", "--check"]);
    run.expect_code(1);
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "only the undeclared one is left: {}",
        run.stdout
    );
    project
        .images(&["pin", "--check", "Dockerfile", "deploy", ".github"])
        .expect_code(0);
}

#[test]
fn pin_check_format_github_annotates_file_and_line() {
    let (_registry, project) = pinned_project();
    let run = project.images(&["pin", "--check", "--format", "github", "services"]);
    run.expect_code(1);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(
        run.stdout.starts_with(
            "::error file=services/api/api.dockerfile,line=1,title=images pin%3A stale-digest::"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn pin_check_json_reports_every_reference() {
    let (_registry, project) = pinned_project();
    let report = project
        .images(&["pin", "--check", "--format", "json", "docker-compose.yml"])
        .expect_code(1)
        .json();
    assert_eq!(report["ok"], false);
    let statuses: Vec<(&str, &str)> = report["references"]
        .as_array()
        .expect("references")
        .iter()
        .map(|r| {
            (
                r["image"].as_str().unwrap_or_default(),
                r["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(statuses.len(), 5, "{statuses:?}");
    assert!(statuses.contains(&("nginx:1.27", "undeclared")));
    assert!(statuses.contains(&("${CACHE_IMAGE:-redis:7}", "left-alone")));
    assert_eq!(statuses.iter().filter(|(_, s)| *s == "unpinned").count(), 3);
}

#[test]
fn pin_discover_lists_undeclared_references_as_images_toml_lines() {
    let (reg, project) = pinned_project();
    let removed: String = read(&project, "images.toml")
        .lines()
        .filter(|l| !l.starts_with("web = "))
        .map(|l| format!("{l}\n"))
        .collect();
    project.write_manifest(&removed);
    let run = project.images(&["pin", "--discover"]);
    run.expect_code(0);
    let addr = reg.addr();
    assert_eq!(
        run.stdout.replace(&addr, PLACEHOLDER),
        "web = \"[REGISTRY]/acme/web:1.0\"  # deploy/acme.yaml:39, docker-compose.yml:16\n\
         nginx = \"nginx:1.27\"  # docker-compose.yml:25\n"
    );
    // The lines paste into images.toml as they are.
    project.write_manifest(&format!("{removed}{}", run.stdout));
    project.images(&["list"]).expect_code(0);
}

#[test]
fn pin_reports_malformed_files_with_their_path_and_leaves_them_untouched() {
    let (_registry, project) = pinned_project();
    let broken_yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: a\n    image: \"unclosed\n";
    let odd_dockerfile = "FROM alpine:3.20\nFORM typo\n";
    std::fs::write(project.path().join("deploy/broken.yaml"), broken_yaml).expect("write");
    std::fs::write(project.path().join("Dockerfile.odd"), odd_dockerfile).expect("write");

    let run = project.images(&["pin"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("`deploy/broken.yaml:"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("invalid YAML"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`Dockerfile.odd:2` unknown instruction `FORM`"),
        "{}",
        run.stderr
    );
    assert_eq!(read(&project, "deploy/broken.yaml"), broken_yaml);
    assert_eq!(read(&project, "Dockerfile.odd"), odd_dockerfile);
    // The other files were still pinned.
    assert!(read(&project, "deploy/acme.yaml").contains("@sha256:"));
}

#[test]
fn pin_refuses_an_out_of_date_lock_entry_and_says_to_run_lock() {
    let (reg, project) = pinned_project();
    let addr = reg.addr();
    // `db16` is new (not locked); `web` changed since it was locked (stale).
    let manifest = read(&project, "images.toml")
        .replace("acme/db:16", "acme/db:17")
        .replace(
            &format!("web = \"{addr}/acme/web:1.0\""),
            &format!("web = {{ image = \"{addr}/acme/web:1.0\", mutable = true }}"),
        );
    project.write_manifest(&format!("{manifest}db16 = \"{addr}/acme/db:16\"\n"));
    let run = project.images(&["pin"]);
    run.expect_code(1);
    for expected in [
        "deploy/acme.yaml:58: `",
        "declared as `db16`, which is not in images.lock yet",
        "declared as `web`, whose entry in images.lock is stale",
        "run `images lock` first",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
    }
    let manifest = read(&project, "deploy/acme.yaml");
    assert!(!manifest.contains("acme/db:16@"), "{manifest}");
    assert!(!manifest.contains("acme/web:1.0@"), "{manifest}");
    // Entries that are locked are still pinned.
    assert!(manifest.contains("acme/sidecar:2@sha256:"), "{manifest}");
}

#[test]
fn pin_skips_what_gitignore_ignores() {
    let (reg, project) = pinned_project();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(project.path())
            .output()
            .expect("run git")
    };
    assert!(git(&["init", "-q"]).status.success());
    std::fs::write(project.path().join(".gitignore"), "generated/\n").expect("write");
    std::fs::create_dir(project.path().join("generated")).expect("mkdir");
    let ignored = format!("FROM {}/acme/tools:1\n", reg.addr());
    std::fs::write(project.path().join("generated/Dockerfile"), &ignored).expect("write");
    project.images(&["pin"]).expect_code(0);
    assert_eq!(read(&project, "generated/Dockerfile"), ignored);
    assert!(read(&project, "Dockerfile").contains("acme/tools:1@sha256:"));
}
