//! `images init`: a repository without images.toml gets one, declaring the
//! images its Dockerfiles, compose files and Kubernetes manifests name,
//! locked against the real registry; or nothing at all when it fails.

use images_testkit::{Fixture, Kind, Registry};

use crate::support::Project;

/// A scratch directory without images.toml, holding `files`.
fn repository(files: &[(&str, String)]) -> Project {
    let project = Project::new("");
    std::fs::remove_file(project.path().join("images.toml")).expect("remove images.toml");
    for (path, text) in files {
        let path = project.path().join(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create dir");
        }
        std::fs::write(path, text).expect("write file");
    }
    project
}

fn read(project: &Project, path: &str) -> String {
    std::fs::read_to_string(project.path().join(path)).expect("read file")
}

/// A Dockerfile, a compose file and a Kubernetes manifest naming three
/// images of the test registry; `api` is named by two files.
fn deploy_files(addr: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "Dockerfile",
            format!("FROM {addr}/acme/builder:1.22 AS build\nRUN make\nFROM {addr}/acme/api:v1\n"),
        ),
        (
            "compose.yaml",
            format!("services:\n  api:\n    image: {addr}/acme/api:v1\n  db:\n    image: {addr}/acme/db:16\n"),
        ),
        (
            "deploy/web.yaml",
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: {addr}/other/api:v1\n"
            ),
        ),
    ]
}

/// Pushes the images [`deploy_files`] names; their digests by repository.
fn push_all(reg: &Registry) -> std::collections::BTreeMap<&'static str, String> {
    let mut digests = std::collections::BTreeMap::new();
    for (repo, tag, kind, seed) in [
        ("acme/builder", "1.22", Kind::OciIndex, "builder"),
        ("acme/api", "v1", Kind::DockerV2S2, "api"),
        ("acme/db", "16", Kind::OciManifest, "db"),
        ("other/api", "v1", Kind::OciManifest, "other-api"),
    ] {
        let pushed = reg
            .push(repo, tag, &Fixture::new(kind, seed))
            .expect("push");
        digests.insert(repo, pushed.digest);
    }
    digests
}

#[test]
fn init_declares_and_locks_every_image_a_fresh_repository_deploys() {
    let reg = Registry::start().expect("start the test registry");
    let served = push_all(&reg);
    let addr = reg.addr();
    let project = repository(&deploy_files(&addr));

    let run = project.images(&["init"]);
    run.expect_code(0);
    let manifest = read(&project, "images.toml");
    let entries: String = manifest
        .lines()
        .skip_while(|l| *l != "[images]")
        .map(|l| format!("{l}\n"))
        .collect();
    // One entry per image, in the order found; the same image in two files
    // is one entry; two repositories ending in `api` get distinct names.
    assert_eq!(
        entries,
        format!(
            "[images]\n\
             # found in Dockerfile:1\n\
             builder = \"{addr}/acme/builder:1.22\"\n\
             # found in Dockerfile:3, compose.yaml:3\n\
             api = \"{addr}/acme/api:v1\"\n\
             # found in compose.yaml:5\n\
             db = \"{addr}/acme/db:16\"\n\
             # found in deploy/web.yaml:10\n\
             api-2 = \"{addr}/other/api:v1\"\n"
        )
    );
    // Locked at the digests the registry serves.
    let lock = project.lock();
    assert_eq!(lock.images.len(), 4);
    for (name, repo) in [
        ("builder", "acme/builder"),
        ("api", "acme/api"),
        ("db", "acme/db"),
        ("api-2", "other/api"),
    ] {
        assert_eq!(lock.images[name].digest.to_string(), served[repo], "{name}");
    }
    assert!(run.stderr.contains("images pin"), "{}", run.stderr);
    assert!(run.stderr.contains("images verify"), "{}", run.stderr);

    // What it says comes next works: the files get the digests, verify passes.
    project.images(&["pin"]).expect_code(0);
    assert!(read(&project, "compose.yaml")
        .contains(&format!("{addr}/acme/api:v1@{}", lock.images["api"].digest)));
    project.images(&["pin", "--check"]).expect_code(0);
    project.images(&["verify"]).expect_code(0);
}

#[test]
fn init_twice_refuses_and_changes_nothing() {
    let reg = Registry::start().expect("start the test registry");
    push_all(&reg);
    let project = repository(&deploy_files(&reg.addr()));
    project.images(&["init"]).expect_code(0);
    let manifest = read(&project, "images.toml");
    let lock = project.lock_bytes();

    let run = project.images(&["init"]);
    run.expect_code(2);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert!(run.stderr.contains("images add"), "{}", run.stderr);
    assert_eq!(read(&project, "images.toml"), manifest);
    assert_eq!(project.lock_bytes(), lock);
}

#[test]
fn init_with_a_tag_that_does_not_exist_writes_nothing() {
    let reg = Registry::start().expect("start the test registry");
    push_all(&reg);
    let addr = reg.addr();
    let mut files = deploy_files(&addr);
    files.push(("Dockerfile.tools", format!("FROM {addr}/acme/tools:9\n")));
    let project = repository(&files);

    let run = project.images(&["init"]);
    run.expect_code(2);
    assert!(run.stderr.contains("acme/tools"), "{}", run.stderr);
    assert!(run.stderr.contains("removed again"), "{}", run.stderr);
    assert!(!project.path().join("images.toml").exists());
    assert!(!project.lock_path().exists());
}

#[test]
fn init_with_the_registry_down_writes_nothing_and_exits_3() {
    let mut reg = Registry::start().expect("start the test registry");
    push_all(&reg);
    let project = repository(&deploy_files(&reg.addr()));
    reg.stop();

    let run = project.images(&["init", "--timeout", "5"]);
    run.expect_code(3);
    assert!(!project.path().join("images.toml").exists());
    assert!(!project.lock_path().exists());
    // Once the registry is back, init works: nothing was left behind.
}

#[test]
fn init_with_nothing_found_says_so_and_writes_an_empty_project() {
    let project = repository(&[("README.md", "no images here\n".to_owned())]);
    let run = project.images(&["init"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("No image references found"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("images add"), "{}", run.stderr);
    assert!(read(&project, "images.toml").contains("[images]\n"));
    assert!(project.lock().images.is_empty());
    project.images(&["verify"]).expect_code(0);
}

#[test]
fn init_refuses_when_a_file_cannot_be_read_and_writes_nothing() {
    let project = repository(&[("Dockerfile", "FROM alpine:3.20\nFORM typo\n".to_owned())]);
    let run = project.images(&["init"]);
    run.expect_code(2);
    assert!(run.stderr.contains("`Dockerfile:2`"), "{}", run.stderr);
    assert!(!project.path().join("images.toml").exists());
    assert!(!project.lock_path().exists());
}

#[test]
fn init_in_json_names_each_image_its_digest_and_where_it_was_found() {
    let reg = Registry::start().expect("start the test registry");
    let served = push_all(&reg);
    let project = repository(&deploy_files(&reg.addr()));
    let run = project.images(&["init", "--format", "json"]);
    run.expect_code(0);
    let doc = run.json();
    assert_eq!(doc["version"], 1);
    let images = doc["images"].as_array().expect("images");
    let names: Vec<&str> = images.iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(names, ["builder", "api", "db", "api-2"]);
    assert_eq!(images[1]["digest"], served["acme/api"].as_str());
    assert_eq!(
        images[1]["locations"],
        serde_json::json!([
            {"file": "Dockerfile", "line": 3},
            {"file": "compose.yaml", "line": 3}
        ])
    );
    assert_eq!(doc["lock"]["written"], true);
    assert_eq!(doc["lock"]["images"], 4);
}
