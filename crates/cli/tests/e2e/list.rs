//! `images list`: offline view of declared images.

use images_testkit::{Fixture, Kind, Registry};

use crate::support::Project;

#[test]
fn list_json_has_the_documented_shape_and_works_offline() {
    let mut reg = Registry::start().expect("start the test registry");
    let a = reg.addr();
    let pushed = reg
        .push("acme/api", "v1", &Fixture::new(Kind::OciIndex, "api"))
        .expect("push");
    let project = Project::new(&format!("[images]\napi = \"{a}/acme/api:v1\"\n"));
    project.images(&["lock"]).expect_code(0);
    reg.stop();
    project.write_manifest(&format!(
        "[images]\napi = \"{a}/acme/api:v1\"\nweb = \"nginx:1.27\"\n"
    ));

    let report = project
        .images(&["list", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(
        report,
        serde_json::json!({
            "version": 1,
            "images": [
                {"name": "api", "reference": format!("{a}/acme/api:v1"), "digest": pushed.digest, "status": "locked"},
                {"name": "web", "reference": "docker.io/library/nginx:1.27", "digest": null, "status": "unlocked"},
            ]
        })
    );

    project.write_manifest(&format!("[images]\napi = \"{a}/acme/api:v2\"\n"));
    let report = project
        .images(&["list", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(report["images"][0]["status"], "stale");
}

#[test]
fn list_text_shows_familiar_names() {
    let project = Project::new("[images]\nweb = \"nginx:1.27\"\n");
    let run = project.images(&["list"]);
    run.expect_code(0);
    assert!(run.stdout.contains("nginx:1.27"), "{}", run.stdout);
    assert!(run.stdout.contains("unlocked"), "{}", run.stdout);
}
