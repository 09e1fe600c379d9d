//! `images add` and `images remove`: images.toml is edited in place, with
//! every byte outside the entry kept, and never left changed when the
//! command fails.

use images_testkit::Kind;

use crate::output::{push, Scene};
use crate::support::Project;

/// A hand-written images.toml: comments, alignment, a registries table.
fn manifest(addr: &str) -> String {
    format!(
        "# Images we deploy.\n[images]\napi   = \"{addr}/acme/api:v1\"   # the API\n# mutable on purpose\nbase  = {{ image = \"{addr}/acme/base:latest\", mutable = true }}\n\n[registries.\"{addr}\"]\ninsecure = true # loopback anyway\n"
    )
}

/// The registry with `api`, `base` and `db` pushed, and a locked project
/// declaring `api` and `base`.
fn scene() -> Scene {
    let scene = Scene::new();
    push(&scene.reg, "acme/db", "16", Kind::OciIndex, "db");
    scene.project.write_manifest(&manifest(&scene.reg.addr()));
    scene.project.images(&["lock"]).expect_code(0);
    scene
}

fn read_manifest(project: &Project) -> String {
    std::fs::read_to_string(project.path().join("images.toml")).expect("read images.toml")
}

#[test]
fn add_appends_the_entry_keeps_the_rest_and_locks_it() {
    let s = scene();
    let addr = s.reg.addr();
    let db = format!("{addr}/acme/db:16");
    s.snap("add_text", &["add", "db", &db], 0);
    let expected = manifest(&addr).replace(
        "mutable = true }\n",
        &format!("mutable = true }}\ndb = \"{db}\"\n"),
    );
    assert_eq!(read_manifest(&s.project), expected);
    let lock = s.project.lock();
    assert_eq!(lock.images.len(), 3);
    assert_eq!(lock.images["db"].reference.to_string(), db);
    s.project.images(&["verify"]).expect_code(0);
}

#[test]
fn add_with_options_writes_an_inline_table() {
    let s = scene();
    let db = format!("{}/acme/db:16", s.reg.addr());
    s.snap(
        "add_json",
        &[
            "add",
            "db",
            &db,
            "--mutable",
            "--platform",
            "linux/amd64",
            "--format",
            "json",
        ],
        0,
    );
    assert!(read_manifest(&s.project).contains(&format!(
        "db = {{ image = \"{db}\", mutable = true, platforms = [\"linux/amd64\"] }}\n"
    )));
    let locked = &s.project.lock().images["db"];
    assert!(locked.mutable);
    assert_eq!(locked.manifests.len(), 1);
}

#[test]
fn add_refuses_a_duplicate_name_and_leaves_the_files_unchanged() {
    let s = scene();
    let (before, lock_before) = (read_manifest(&s.project), s.project.lock_bytes());
    s.snap("add_duplicate_name", &["add", "api", "nginx:1.27"], 2);
    assert_eq!(read_manifest(&s.project), before);
    assert_eq!(s.project.lock_bytes(), lock_before);
}

#[test]
fn add_refuses_an_invalid_reference_and_leaves_the_files_unchanged() {
    let s = scene();
    let (before, lock_before) = (read_manifest(&s.project), s.project.lock_bytes());
    s.snap(
        "add_invalid_reference",
        &["add", "web", "Not A Reference!"],
        2,
    );
    s.snap(
        "add_invalid_platform",
        &["add", "web", "nginx:1.27", "--platform", "linux"],
        2,
    );
    assert_eq!(read_manifest(&s.project), before);
    assert_eq!(s.project.lock_bytes(), lock_before);
}

#[test]
fn add_rolls_back_images_toml_when_the_registry_is_down() {
    let mut s = scene();
    let (before, lock_before) = (read_manifest(&s.project), s.project.lock_bytes());
    let db = format!("{}/acme/db:16", s.reg.addr());
    s.reg.stop();
    s.snap(
        "add_registry_down",
        &["add", "db", &db, "--timeout", "2"],
        3,
    );
    assert_eq!(read_manifest(&s.project), before);
    assert_eq!(s.project.lock_bytes(), lock_before);
}

#[test]
fn add_rolls_back_when_the_tag_does_not_exist() {
    let s = scene();
    let before = read_manifest(&s.project);
    let missing = format!("{}/acme/db:17", s.reg.addr());
    let run = s.project.images(&["add", "db", &missing]);
    run.expect_code(2);
    assert_eq!(read_manifest(&s.project), before);
}

#[test]
fn add_creates_images_toml_when_there_is_none() {
    let s = Scene::new();
    std::fs::remove_file(s.project.path().join("images.toml")).expect("remove images.toml");
    let api = format!("{}/acme/api:v1", s.reg.addr());
    s.project.images(&["add", "api", &api]).expect_code(0);
    assert_eq!(
        read_manifest(&s.project),
        format!("[images]\napi = \"{api}\"\n")
    );
    assert_eq!(s.project.lock().images.len(), 1);
}

#[test]
fn add_into_a_new_file_named_by_manifest_removes_it_again_on_failure() {
    let mut s = Scene::new();
    let api = format!("{}/acme/api:v1", s.reg.addr());
    s.reg.stop();
    let run = s.project.images(&[
        "--manifest",
        "new.toml",
        "add",
        "api",
        &api,
        "--timeout",
        "2",
    ]);
    run.expect_code(3);
    assert!(!s.project.path().join("new.toml").exists());
}

#[test]
fn remove_drops_the_entry_from_both_files_and_keeps_the_rest() {
    let s = scene();
    let addr = s.reg.addr();
    s.snap("remove_text", &["remove", "base"], 0);
    let expected = manifest(&addr).replace(
        &format!("# mutable on purpose\nbase  = {{ image = \"{addr}/acme/base:latest\", mutable = true }}\n"),
        "",
    );
    assert_eq!(read_manifest(&s.project), expected);
    let lock = s.project.lock();
    assert_eq!(lock.images.keys().collect::<Vec<_>>(), ["api"]);
    // Offline: the registry is not needed, and what is left still verifies.
    s.project.images(&["lock", "--locked"]).expect_code(0);
    s.snap("remove_json", &["remove", "api", "--format", "json"], 0);
    assert!(s.project.lock().images.is_empty());
}

#[test]
fn remove_of_an_unknown_name_exits_2_and_changes_nothing() {
    let s = scene();
    let (before, lock_before) = (read_manifest(&s.project), s.project.lock_bytes());
    s.snap("remove_unknown_name", &["remove", "web"], 2);
    assert_eq!(read_manifest(&s.project), before);
    assert_eq!(s.project.lock_bytes(), lock_before);
}
