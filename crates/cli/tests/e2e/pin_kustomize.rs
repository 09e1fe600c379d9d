//! `images pin` in a kustomize tree: a manifest listed in a kustomization's
//! `resources` (directly, or through a directory holding a kustomization)
//! whose image that kustomization's `images:` rewrites is governed by the
//! kustomization. `pin` pins the kustomization's entry and leaves the
//! manifest alone; `--check` and `--discover` do not list it (issue 14,
//! part 1).
//!
//! The tree is `fixtures/kustomize`, copied with `[REGISTRY]` replaced by
//! the test registry's address.

use std::path::Path;

use crate::pin::copy_tree;
use crate::pin_inputs::{project_with, read};
use crate::support::Project;

/// The files of the tree, as copied.
const FILES: [&str; 5] = [
    "base/kustomization.yaml",
    "base/deployment.yaml",
    "overlays/prod/kustomization.yaml",
    "overlays/prod/job.yaml",
    "other/pod.yaml",
];

/// A project declaring and locking `tools` and `web`, holding the tree;
/// with the registry's address and the two digests.
fn kustomize_project() -> (images_testkit::Registry, Project, String, String) {
    let (reg, project, tools, web) = project_with(&[]);
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/fixtures/kustomize");
    copy_tree(&tree, project.path(), &reg.addr());
    (reg, project, tools, web)
}

#[test]
fn pin_check_leaves_out_the_images_a_kustomization_rewrites() {
    let (reg, project, tools, web) = kustomize_project();
    let addr = reg.addr();
    let run = project.images(&["pin", "--check"]);
    run.expect_code(1);
    assert_eq!(
        run.stdout,
        format!(
            "base/deployment.yaml:10: `{addr}/acme/tools:1` is not pinned; `tools` is locked at {tools}\n\
             other/pod.yaml:8: `base-image` is not declared in images.toml\n\
             overlays/prod/kustomization.yaml:11: `{addr}/acme/tools:1` is not pinned; `tools` is locked at {tools}\n\
             overlays/prod/kustomization.yaml:13: `{addr}/acme/web:1.0` is not pinned; `web` is locked at {web}\n"
        )
    );
    // Under -v, each governed reference says which entry sets it.
    let run = project.images(&["pin", "--check", "-v"]);
    run.expect_code(1);
    for line in [
        "base/deployment.yaml:13: `base-image` left alone: `images[base-image]` in overlays/prod/kustomization.yaml sets it",
        &format!("base/deployment.yaml:15: `{addr}/acme/web:1.0` left alone: `images[{addr}/acme/web]` in overlays/prod/kustomization.yaml sets it"),
        "overlays/prod/job.yaml:10: `base-image:dev` left alone: `images[base-image]` in overlays/prod/kustomization.yaml sets it",
    ] {
        assert!(run.stderr.contains(line), "{line}\n{}", run.stderr);
    }
}

#[test]
fn pin_writes_the_kustomization_and_leaves_the_manifests_it_governs_alone() {
    let (reg, project, tools, web) = kustomize_project();
    let addr = reg.addr();
    let before: Vec<String> = FILES.iter().map(|f| read(&project, f)).collect();
    let run = project.images(&["pin"]);
    run.expect_code(0);
    assert!(!run.stderr.contains("base-image"), "{}", run.stderr);
    let after: Vec<String> = FILES.iter().map(|f| read(&project, f)).collect();
    assert_eq!(after[0], before[0]);
    // Only the image no kustomization rewrites is pinned in the base.
    assert_eq!(
        after[1],
        before[1].replace(
            &format!("{addr}/acme/tools:1\n"),
            &format!("{addr}/acme/tools:1@{tools}\n")
        )
    );
    assert_eq!(
        after[2],
        before[2]
            .replace(
                "newTag: \"1\"\n",
                &format!("newTag: \"1\"\n    digest: {tools}\n")
            )
            .replace(
                "newTag: \"1.0\"\n",
                &format!("newTag: \"1.0\"\n    digest: {web}\n")
            )
    );
    assert_eq!(
        after[3], before[3],
        "the overlay's own resource is governed too"
    );
    assert_eq!(
        after[4], before[4],
        "undeclared, and listed by no kustomization"
    );

    // Only the manifest no kustomization lists is still flagged.
    let run = project.images(&["pin", "--check"]);
    run.expect_code(1);
    assert_eq!(
        run.stdout,
        "other/pod.yaml:8: `base-image` is not declared in images.toml\n"
    );
}

#[test]
fn pin_discover_does_not_offer_the_names_a_kustomization_rewrites() {
    let (_reg, project, _, _) = kustomize_project();
    let run = project.images(&["pin", "--discover"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "base-image = \"base-image\"  # other/pod.yaml:8\n"
    );
}
