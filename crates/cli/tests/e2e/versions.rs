//! Version requirements: `images lock` chooses the newest tag a Cargo-style
//! requirement allows, records it, and keeps it until asked to move.

use images_testkit::{FaultProxy, Fixture, Kind, Registry};

use crate::support::Project;

/// The tags of issue 13, each a distinct image.
const TAGS: &[&str] = &[
    "1.26.0",
    "1.27.0",
    "1.27.3",
    "1.27.4-alpine",
    "1.27.10",
    "1.28.0-rc1",
    "1.28.0",
    "latest",
];

fn fixture(tag: &str) -> Fixture {
    Fixture::new(Kind::OciManifest, &format!("nginx-{tag}"))
}

fn registry() -> Registry {
    let reg = Registry::start().expect("start the test registry");
    for tag in TAGS {
        reg.push("acme/nginx", tag, &fixture(tag)).expect("push");
    }
    reg
}

fn manifest(addr: &str) -> String {
    format!(
        r#"[images]
proxy  = {{ image = "{addr}/acme/nginx", version = "~1.27" }}
alpine = {{ image = "{addr}/acme/nginx", version = "~1.27", tags = '^(\d+\.\d+\.\d+)-alpine$' }}
major  = {{ image = "{addr}/acme/nginx", version = "^1" }}
rc     = {{ image = "{addr}/acme/nginx", version = ">=1.28.0-rc1, <1.28.0", tags = '(\d+\.\d+\.\d+(?:-rc\d+)?)' }}
"#
    )
}

fn locked_tag(project: &Project, name: &str) -> String {
    let lock = project.lock();
    let entry = &lock.images[name];
    let tag = entry.reference.tag().expect("a tag").to_string();
    assert_eq!(entry.digest.to_string(), fixture(&tag).digest(), "{name}");
    tag
}

#[test]
fn lock_chooses_the_newest_allowed_tag_and_records_the_requirement() {
    let reg = registry();
    let project = Project::new(&manifest(&reg.addr()));
    project.images(&["lock"]).expect_code(0);
    assert_eq!(locked_tag(&project, "proxy"), "1.27.10");
    assert_eq!(locked_tag(&project, "alpine"), "1.27.4-alpine");
    assert_eq!(locked_tag(&project, "major"), "1.28.0");
    assert_eq!(locked_tag(&project, "rc"), "1.28.0-rc1");
    let text = String::from_utf8(project.lock_bytes()).expect("utf-8");
    assert!(text.contains("version = \"~1.27\"\n"), "{text}");
    assert!(
        text.contains(r#"tags = "^(\\d+\\.\\d+\\.\\d+)-alpine$""#),
        "{text}"
    );
    // What was written reads back and is up to date.
    project.images(&["lock", "--locked"]).expect_code(0);
    project.images(&["verify"]).expect_code(0);
    let list = project.images(&["list", "--format", "json"]);
    list.expect_code(0);
    let images = list.json()["images"].clone();
    let proxy = images
        .as_array()
        .and_then(|a| a.iter().find(|i| i["name"] == "proxy"))
        .cloned()
        .expect("proxy listed");
    assert_eq!(
        proxy["reference"],
        format!("{}/acme/nginx:1.27.10", reg.addr())
    );
    assert_eq!(proxy["status"], "locked");
}

#[test]
fn a_locked_tag_stays_until_update_and_a_changed_requirement_moves_only_its_entry() {
    let reg = registry();
    let proxy = FaultProxy::start(&reg.addr()).expect("start proxy");
    let project = Project::new(&manifest(&proxy.addr()));
    project.images(&["lock"]).expect_code(0);
    reg.push("acme/nginx", "1.27.11", &fixture("1.27.11"))
        .expect("push");

    proxy.clear_requests();
    project.images(&["lock"]).expect_code(0);
    assert_eq!(
        proxy.requests(),
        Vec::<String>::new(),
        "an unchanged entry needs no network"
    );
    assert_eq!(locked_tag(&project, "proxy"), "1.27.10");

    let old_lock = project.path().join("old.lock");
    std::fs::write(&old_lock, project.lock_bytes()).expect("keep the old lock");
    project
        .images(&["lock", "--update", "proxy"])
        .expect_code(0);
    assert_eq!(locked_tag(&project, "proxy"), "1.27.11");
    assert_eq!(locked_tag(&project, "major"), "1.28.0");
    // The move is reviewable: re-tagged, with both tags.
    let diff = project.images(&["diff", "old.lock", "images.lock"]);
    diff.expect_code(0);
    assert!(
        diff.stdout.contains("re-tagged (1)")
            && diff.stdout.contains("acme/nginx:1.27.10 -> ")
            && diff.stdout.contains("acme/nginx:1.27.11"),
        "{}",
        diff.stdout
    );

    // A new requirement re-resolves that entry alone.
    let before = project.lock();
    project.write_manifest(
        &manifest(&proxy.addr()).replace("version = \"^1\"", "version = \"~1.26\""),
    );
    project.images(&["lock", "--locked"]).expect_code(1);
    project.images(&["lock"]).expect_code(0);
    let after = project.lock();
    assert_eq!(locked_tag(&project, "major"), "1.26.0");
    for name in ["proxy", "alpine", "rc"] {
        assert_eq!(before.images[name], after.images[name], "{name} kept");
    }
    // Only an option changed: the chosen tag stays, even with newer ones.
    reg.push("acme/nginx", "1.26.1", &fixture("1.26.1"))
        .expect("push");
    project.write_manifest(
        &manifest(&proxy.addr()).replace("version = \"^1\"", "version = \"~1.26\", mutable = true"),
    );
    project.images(&["lock"]).expect_code(0);
    assert_eq!(locked_tag(&project, "major"), "1.26.0");
    assert!(project.lock().images["major"].mutable);
}

#[test]
fn no_allowed_tag_is_bad_input_naming_the_newest_tags() {
    let reg = registry();
    let project = Project::new(&format!(
        "[images]\nweb = {{ image = \"{}/acme/nginx\", version = \"~1.29\" }}\n",
        reg.addr()
    ));
    let run = project.images(&["lock"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains(
            "no tag of `127.0.0.1"
        ) && run.stderr.contains("is allowed by `version = \"~1.29\"` (newest tags: 1.28.0, 1.27.10, 1.27.3, 1.27.0, 1.26.0)"),
        "{}",
        run.stderr
    );
    assert!(project.lock_bytes().is_empty());
}

#[test]
fn version_declarations_that_cannot_work_name_the_line() {
    let cases = [
        (
            "web = { image = \"nginx:1.27\", version = \"~1.27\" }",
            "images.toml:2:17: image `web`: `nginx:1.27` names a tag or digest, but `version` chooses the tag",
        ),
        (
            "web = { image = \"nginx\", version = \"~>1.2\" }",
            "images.toml:2:36: image `web`: invalid version requirement `~>1.2`",
        ),
        (
            "web = { image = \"nginx\", version = \"^1\", tags = \"(\" }",
            "images.toml:2:49: image `web`: invalid tag filter `(`: unclosed group",
        ),
        (
            "web = { image = \"nginx\", tags = \"x\" }",
            "images.toml:2:33: image `web`: `tags` filters the tags a `version` requirement chooses from",
        ),
    ];
    for (entry, expected) in cases {
        let project = Project::new(&format!("[images]\n{entry}\n"));
        let run = project.images(&["lock"]);
        run.expect_code(2);
        assert!(run.stderr.contains(expected), "{entry}:\n{}", run.stderr);
        assert!(project.lock_bytes().is_empty());
    }
}

#[test]
fn add_with_a_version_writes_the_requirement_and_locks_the_newest_allowed_tag() {
    let reg = registry();
    let addr = reg.addr();
    let project = Project::new("[images]\n");
    let run = project.images(&[
        "add",
        "web",
        &format!("{addr}/acme/nginx"),
        "--version",
        "~1.27",
    ]);
    run.expect_code(0);
    let manifest = std::fs::read_to_string(project.path().join("images.toml")).expect("read");
    assert_eq!(
        manifest,
        format!("[images]\nweb = {{ image = \"{addr}/acme/nginx\", version = \"~1.27\" }}\n")
    );
    assert_eq!(locked_tag(&project, "web"), "1.27.10");
    assert!(run.stderr.contains("acme/nginx:1.27.10"), "{}", run.stderr);

    // A tag and a version at once: refused before anything is written.
    let run = project.images(&[
        "add",
        "db",
        &format!("{addr}/acme/nginx:1.27.3"),
        "--version",
        "~1.27",
    ]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("names a tag or digest"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(project.path().join("images.toml")).expect("read"),
        manifest
    );
}

#[test]
fn outdated_shows_locked_compatible_and_latest_and_exit_code_gates_on_it() {
    let reg = registry();
    let addr = reg.addr();
    let project = Project::new(&format!(
        "[images]\nproxy = {{ image = \"{addr}/acme/nginx\", version = \"~1.27\" }}\nfixed = \"{addr}/acme/nginx:1.26.0\"\n"
    ));
    project.images(&["lock"]).expect_code(0);
    reg.push("acme/nginx", "1.27.11", &fixture("1.27.11"))
        .expect("push");

    let run = project.images(&["outdated"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "NAME   REQUIREMENT  LOCKED   COMPATIBLE  LATEST\nproxy  ~1.27        1.27.10  1.27.11     1.28.0\n"
    );
    assert!(
        run.stderr.contains("run `images lock --update proxy`"),
        "{}",
        run.stderr
    );
    project.images(&["outdated", "--exit-code"]).expect_code(1);
    let json = project.images(&["outdated", "--format", "json"]);
    json.expect_code(0);
    let doc = json.json();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["images"][0]["name"], "proxy");
    assert_eq!(doc["images"][0]["locked"], "1.27.10");
    assert_eq!(doc["images"][0]["compatible"], "1.27.11");
    assert_eq!(doc["images"][0]["latest"], "1.28.0");
    assert_eq!(doc["images"][0]["outdated"], true);
    // -v lists entries without a requirement too.
    let verbose = project.images(&["outdated", "-v"]);
    assert!(
        verbose.stdout.contains("fixed  -            1.26.0"),
        "{}",
        verbose.stdout
    );

    project
        .images(&["lock", "--update", "proxy"])
        .expect_code(0);
    project.images(&["outdated", "--exit-code"]).expect_code(0);
    project
        .images(&["outdated", "--format", "github"])
        .expect_code(2);
}

#[test]
fn pin_moves_a_file_to_the_locked_version_and_refuses_to_guess_between_two_entries() {
    let reg = registry();
    let addr = reg.addr();
    let project = Project::new(&format!(
        "[images]\nproxy = {{ image = \"{addr}/acme/nginx\", version = \"~1.27\" }}\n"
    ));
    project.images(&["lock"]).expect_code(0);
    let dockerfile = project.path().join("Dockerfile");
    std::fs::write(
        &dockerfile,
        format!("FROM {addr}/acme/nginx:1.27.3 AS build\nFROM {addr}/acme/nginx:1.27.10\n"),
    )
    .expect("write Dockerfile");
    let check = project.images(&["pin", "--check"]);
    check.expect_code(1);
    assert!(
        check
            .stdout
            .contains("names another version than `proxy` is locked at"),
        "{}",
        check.stdout
    );
    project.images(&["pin"]).expect_code(0);
    let digest = fixture("1.27.10").digest();
    assert_eq!(
        std::fs::read_to_string(&dockerfile).expect("read"),
        format!(
            "FROM {addr}/acme/nginx:1.27.10@{digest} AS build\nFROM {addr}/acme/nginx:1.27.10@{digest}\n"
        )
    );
    project.images(&["pin", "--check"]).expect_code(0);

    // Two versioned entries of one repository at different tags: a file's
    // version could be either, so pin names both and changes nothing.
    project.write_manifest(&format!(
        "[images]\nproxy = {{ image = \"{addr}/acme/nginx\", version = \"~1.27\" }}\nold = {{ image = \"{addr}/acme/nginx\", version = \"~1.26\" }}\n"
    ));
    project.images(&["lock"]).expect_code(0);
    std::fs::write(&dockerfile, format!("FROM {addr}/acme/nginx:1.26.9\n")).expect("write");
    let run = project.images(&["pin"]);
    run.expect_code(2);
    assert!(
        run.stdout.contains("`proxy`") && run.stdout.contains("`old`")
            || run.stderr.contains("`proxy`") && run.stderr.contains("`old`"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&dockerfile).expect("read"),
        format!("FROM {addr}/acme/nginx:1.26.9\n")
    );
    // The tag one of them locked is that entry's, not a guess.
    std::fs::write(&dockerfile, format!("FROM {addr}/acme/nginx:1.26.0\n")).expect("write");
    project.images(&["pin"]).expect_code(0);
    assert_eq!(
        std::fs::read_to_string(&dockerfile).expect("read"),
        format!(
            "FROM {addr}/acme/nginx:1.26.0@{}\n",
            fixture("1.26.0").digest()
        )
    );
}

#[test]
fn tags_are_read_to_the_last_page_whether_the_registry_pages_or_not() {
    use images_testkit::Fault;
    let reg = registry();
    // Debian's registry answers every tag at once; through the proxy the
    // same tags come three to a page with `Link` headers, as Docker Hub
    // and distribution 3 answer.
    for paged in [false, true] {
        let proxy = FaultProxy::start(&reg.addr()).expect("start proxy");
        if paged {
            proxy.set(Fault::PageTags { per_page: 3 });
        }
        let project = Project::new(&manifest(&proxy.addr()));
        project.images(&["lock"]).expect_code(0);
        assert_eq!(locked_tag(&project, "proxy"), "1.27.10", "paged: {paged}");
        assert_eq!(locked_tag(&project, "major"), "1.28.0", "paged: {paged}");
        let pages = proxy
            .requests()
            .iter()
            .filter(|r| r.contains("/tags/list"))
            .count();
        // One repository, asked once for all four entries; 8 tags are 3
        // pages of 3.
        assert_eq!(pages, if paged { 3 } else { 1 }, "{:?}", proxy.requests());
    }
}

#[test]
fn lock_update_of_many_versioned_entries_lists_each_repository_once() {
    let reg = Registry::start().expect("start the test registry");
    const REPOS: usize = 20;
    let mut manifest = String::from("[images]\n");
    for i in 0..REPOS {
        for tag in ["1.0.0", "1.1.0"] {
            reg.push(
                &format!("acme/svc{i}"),
                tag,
                &fixture(&format!("{i}-{tag}")),
            )
            .expect("push");
        }
        manifest.push_str(&format!(
            "svc{i} = {{ image = \"{{addr}}/acme/svc{i}\", version = \"^1\" }}\n"
        ));
    }
    let proxy = FaultProxy::start(&reg.addr()).expect("start proxy");
    let project = Project::new(&manifest.replace("{addr}", &proxy.addr()));
    project.images(&["lock"]).expect_code(0);
    proxy.clear_requests();
    let run = project.images(&["lock", "--update", "-v"]);
    run.expect_code(0);
    let requests = proxy.requests();
    let count = |what: &str| requests.iter().filter(|r| r.contains(what)).count();
    // Per entry: one tag list and one HEAD of the chosen tag; nothing moved,
    // so no manifest GET.
    assert_eq!(count("/tags/list"), REPOS, "{requests:?}");
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.starts_with("HEAD ") && r.contains("/manifests/"))
            .count(),
        REPOS,
        "{requests:?}"
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.starts_with("GET ") && r.contains("/manifests/"))
            .count(),
        0,
        "{requests:?}"
    );
}
