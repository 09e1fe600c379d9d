//! The repository's own images.toml and images.lock are real: the lock is
//! exactly what `images lock` makes of the images the demo serves.

use std::path::Path;

use images_testkit::{push_demo, Registry, DEMO_REGISTRY};

use crate::support::Project;

fn repository_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn the_repository_lock_is_what_images_lock_makes_of_the_demo_images() {
    let reg = Registry::start().expect("start the test registry");
    push_demo(reg.client()).expect("push the demo images");
    // The demo listens on a fixed port; this registry on a free one.
    let manifest = repository_file("images.toml");
    assert!(
        manifest.contains(DEMO_REGISTRY),
        "images.toml names the demo registry"
    );
    let project = Project::new(&manifest.replace(DEMO_REGISTRY, &reg.addr()));

    project.images(&["lock"]).expect_code(0);

    let made = String::from_utf8(project.lock_bytes()).expect("utf-8 lock");
    let committed = repository_file("images.lock").replace(DEMO_REGISTRY, &reg.addr());
    assert_eq!(
        made, committed,
        "images.lock at the repository root must be regenerated with `images lock` against `scripts/demo.sh`'s registry"
    );
    project.images(&["verify"]).expect_code(0);
}
