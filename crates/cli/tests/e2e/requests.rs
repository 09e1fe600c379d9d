//! How many requests each command makes, counted by the proxy: the
//! request budget is behaviour (Docker Hub rate-limits GETs), not timing.

use images_testkit::{FaultProxy, Fixture, Kind, Registry};

use crate::support::Project;

#[test]
fn verify_sends_one_head_per_image_and_lock_gets_each_manifest_once() {
    let reg = Registry::start().expect("start the test registry");
    let proxy = FaultProxy::start(&reg.addr()).expect("start proxy");
    let p = proxy.addr();
    let mut manifest = String::from("[images]\n");
    for i in 0..6 {
        let repo = format!("team/app{}", i % 2);
        let tag = format!("v{i}");
        reg.push(
            &repo,
            &tag,
            &Fixture::new(Kind::OciIndex, &format!("app-{i}")),
        )
        .expect("push");
        manifest.push_str(&format!("app{i} = \"{p}/{repo}:{tag}\"\n"));
    }
    // The same reference twice is resolved once.
    manifest.push_str(&format!("again = \"{p}/team/app0:v0\"\n"));
    let project = Project::new(&manifest);

    project.images(&["lock"]).expect_code(0);
    let manifest_gets = |log: &[String], method: &str| {
        log.iter()
            .filter(|r| r.starts_with(method) && r.contains("/manifests/"))
            .count()
    };
    let pings = |log: &[String]| log.iter().filter(|r| r.ends_with(" /v2/")).count();
    let log = proxy.requests();
    assert_eq!(manifest_gets(&log, "GET "), 6, "{log:#?}");
    assert!(pings(&log) <= 1, "one ping per registry at most: {log:#?}");

    proxy.clear_requests();
    project.images(&["lock"]).expect_code(0);
    assert!(
        proxy.requests().is_empty(),
        "nothing changed, nothing asked: {:#?}",
        proxy.requests()
    );

    proxy.clear_requests();
    project.images(&["verify"]).expect_code(0);
    let log = proxy.requests();
    assert_eq!(manifest_gets(&log, "HEAD "), 6, "{log:#?}");
    assert_eq!(
        manifest_gets(&log, "GET "),
        0,
        "verify needs no GET when nothing moved: {log:#?}"
    );
    assert!(pings(&log) <= 1, "{log:#?}");
}

/// `lock --update` asks by HEAD (free of Docker Hub's pull quota) and GETs
/// only the tags whose digest changed: an unchanged digest was hashed and
/// trusted when it was locked. `-v` says how many GETs the run made.
#[test]
fn lock_update_heads_every_tag_and_gets_only_the_ones_that_moved() {
    let reg = Registry::start().expect("start the test registry");
    let proxy = FaultProxy::start(&reg.addr()).expect("start proxy");
    let p = proxy.addr();
    let mut manifest = String::from("[images]\n");
    for name in ["a", "b", "c"] {
        reg.push(
            &format!("team/{name}"),
            "v1",
            &Fixture::new(Kind::OciIndex, name),
        )
        .expect("push");
        manifest.push_str(&format!("{name} = \"{p}/team/{name}:v1\"\n"));
    }
    let project = Project::new(&manifest);
    project.images(&["lock"]).expect_code(0);
    let before = project.lock();
    // `b:v1` moves to another image.
    let moved = reg
        .push("team/b", "v1", &Fixture::new(Kind::OciManifest, "b-2"))
        .expect("push");

    proxy.clear_requests();
    let run = project.images(&["lock", "--update", "-v"]);
    run.expect_code(0);
    let log = proxy.requests();
    let count = |method: &str| {
        log.iter()
            .filter(|r| r.starts_with(method) && r.contains("/manifests/"))
            .count()
    };
    assert_eq!(count("HEAD "), 3, "{log:#?}");
    assert_eq!(count("GET "), 1, "only the moved tag is fetched: {log:#?}");
    assert!(
        log.iter().any(|r| r == "GET /v2/team/b/manifests/v1"),
        "{log:#?}"
    );
    assert!(
        run.stderr.contains("1 manifest GET(s) for 3 image(s)"),
        "{}",
        run.stderr
    );
    let after = project.lock();
    assert_eq!(after.images["b"].digest.to_string(), moved.digest);
    assert_eq!(after.images["a"], before.images["a"]);
    assert_eq!(after.images["c"], before.images["c"]);
}
