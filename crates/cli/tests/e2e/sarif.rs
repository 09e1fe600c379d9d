//! `--format sarif` of `verify` and `pin --check` against a real registry:
//! every document is validated against the official SARIF 2.1.0 schema
//! (vendored in `fixtures/sarif/`, see its README), and the fields code
//! scanning reads (rule, level, file, line) are checked against the files.

use std::path::Path;

use images_testkit::{Fixture, Kind, Registry};
use serde_json::Value;

use crate::support::{Project, Run};

/// The official schema, offline: it has no remote `$ref` to resolve.
fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e/fixtures/sarif/sarif-schema-2.1.0.json");
    let text = std::fs::read_to_string(&path).expect("read the vendored SARIF schema");
    serde_json::from_str(&text).expect("the SARIF schema is JSON")
}

/// What the schema finds wrong with `log` (formats such as `uri` included).
fn schema_errors(log: &Value) -> Vec<String> {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema())
        .expect("compile the SARIF schema");
    validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The run's SARIF log, after checking it against the schema and that
/// stdout holds nothing else.
#[track_caller]
fn valid_sarif(run: &Run) -> Value {
    let log = run.json();
    let errors = schema_errors(&log);
    assert!(
        errors.is_empty(),
        "not valid SARIF 2.1.0:\n{}\n{log:#}",
        errors.join("\n")
    );
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"].as_array().map(Vec::len), Some(1), "{log:#}");
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "images");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    // Every result names one of the rules the driver lists.
    let rules: Vec<&str> = driver["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    for result in results(&log) {
        let rule = result["ruleId"].as_str().expect("ruleId");
        assert!(rules.contains(&rule), "`{rule}` is not among {rules:?}");
    }
    log
}

/// The validated log of `images ARGS --format sarif`, which exits with
/// `code`, as `images ARGS` (text) does.
#[track_caller]
pub fn sarif_of(project: &Project, args: &[&str], code: i32) -> Value {
    project.images(args).expect_code(code);
    let run = project.images(&[args, &["--format", "sarif"][..]].concat());
    run.expect_code(code);
    valid_sarif(&run)
}

fn results(log: &Value) -> &[Value] {
    log["runs"][0]["results"]
        .as_array()
        .map_or(&[], Vec::as_slice)
}

/// The file and line (and column) a result points at, relative to
/// `%SRCROOT%`.
fn located(result: &Value) -> (&str, u64, Option<u64>) {
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uriBaseId"], "%SRCROOT%",
        "{result:#}"
    );
    (
        location["artifactLocation"]["uri"].as_str().expect("a uri"),
        location["region"]["startLine"].as_u64().expect("a line"),
        location["region"]["startColumn"].as_u64(),
    )
}

/// `%SRCROOT%` is the project directory (the temp dir is in no git
/// repository), as a `file:` URI ending in `/`.
#[track_caller]
fn assert_srcroot_is(log: &Value, dir: &Path) {
    let uri = log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .expect("a %SRCROOT% base");
    // `images` reads its directory with getcwd, which resolves symlinks.
    let dir = dir.canonicalize().expect("canonical project path");
    assert_eq!(uri, format!("file://{}/", dir.display()));
}

/// The 1-based line of the first line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    let index = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no `{needle}` in:\n{text}"));
    u64::try_from(index + 1).expect("a small line number")
}

/// `api` (immutable) and `base` (mutable), pushed and locked.
fn locked_project() -> (Registry, Project) {
    let reg = Registry::start().expect("start the test registry");
    for (repo, tag, seed) in [("acme/api", "v1", "api"), ("acme/base", "latest", "base")] {
        reg.push(repo, tag, &Fixture::new(Kind::OciIndex, seed))
            .expect("push");
    }
    let project = Project::new(&format!(
        "[images]\napi = \"{0}/acme/api:v1\"\nbase = {{ image = \"{0}/acme/base:latest\", mutable = true }}\n",
        reg.addr()
    ));
    project.images(&["lock"]).expect_code(0);
    (reg, project)
}

#[test]
fn verify_sarif_with_a_clean_lock_has_no_results() {
    let (_reg, project) = locked_project();
    let log = sarif_of(&project, &["verify"], 0);
    assert!(results(&log).is_empty(), "{log:#}");
    assert_srcroot_is(&log, project.path());
    let rules: Vec<&str> = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(
        rules,
        [
            "tag-moved",
            "tag-moved-unsigned",
            "tag-gone",
            "locked-digest-gone",
            "tampered",
            "signature-gone",
            "lock-out-of-date",
            "unchecked"
        ]
    );
}

#[test]
fn verify_sarif_locates_an_overwritten_tag_at_its_lock_line() {
    let (reg, project) = locked_project();
    let lock = String::from_utf8(project.lock_bytes()).expect("UTF-8 lock");
    let locked = project.lock().images["api"].digest.to_string();
    let base_locked = project.lock().images["base"].digest.to_string();
    let evil = reg
        .push("acme/api", "v1", &Fixture::new(Kind::OciIndex, "attacker"))
        .expect("push");
    reg.push(
        "acme/base",
        "latest",
        &Fixture::new(Kind::OciIndex, "base-2"),
    )
    .expect("push");

    let log = sarif_of(&project, &["verify"], 1);
    let results = results(&log);
    assert_eq!(results.len(), 2, "{log:#}");

    let api = &results[0];
    assert_eq!(api["ruleId"], "tag-moved");
    assert_eq!(api["level"], "error");
    let message = api["message"]["text"].as_str().expect("message text");
    assert!(
        message.starts_with("api (") && message.contains(&locked) && message.contains(&evil.digest),
        "{message}"
    );
    // The entry's `digest` line in images.lock, as `--format github` says.
    let (file, line, _) = located(api);
    assert_eq!(file, "images.lock");
    assert_eq!(line, line_of(&lock, &format!("digest = \"{locked}\"")));

    // A mutable entry that moved is a warning, at its own line.
    let base = &results[1];
    assert_eq!(base["ruleId"], "tag-moved");
    assert_eq!(base["level"], "warning");
    let (file, line, _) = located(base);
    assert_eq!(file, "images.lock");
    assert_eq!(line, line_of(&lock, &format!("digest = \"{base_locked}\"")));
    assert_eq!(project.lock_bytes(), lock.as_bytes(), "verify never writes");
}

/// A change to a log that SARIF does not allow.
type Damage = fn(&mut Value);

/// The check above can fail: what SARIF does not allow in a log `images`
/// printed is caught.
#[test]
fn the_schema_check_rejects_what_sarif_does_not_allow() {
    let (reg, project) = locked_project();
    reg.push("acme/api", "v1", &Fixture::new(Kind::OciIndex, "attacker"))
        .expect("push");
    let log = valid_sarif(
        project
            .images(&["verify", "--format", "sarif"])
            .expect_code(1),
    );
    let broken: [(&str, Damage); 4] = [
        ("a level SARIF lacks", |log| {
            log["runs"][0]["results"][0]["level"] = "fatal".into();
        }),
        ("line 0", |log| {
            log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
                ["startLine"] = 0.into();
        }),
        ("a key results do not have", |log| {
            log["runs"][0]["results"][0]["file"] = "images.lock".into();
        }),
        ("a `$schema` that is not a URI", |log| {
            log["$schema"] = "sarif-schema-2.1.0.json".into();
        }),
    ];
    for (what, damage) in broken {
        let mut log = log.clone();
        damage(&mut log);
        assert!(!schema_errors(&log).is_empty(), "{what} passed the schema");
    }
}

#[test]
fn verify_sarif_points_at_images_toml_when_the_lock_is_out_of_date() {
    let (reg, project) = locked_project();
    project.write_manifest(&format!(
        "[images]\napi = \"{0}/acme/api:v1\"\n\nbase = {{ image = \"{0}/acme/base:latest\", mutable = true }}\nnew = \"{0}/acme/api:v2\"\n",
        reg.addr()
    ));
    let log = sarif_of(&project, &["verify"], 1);
    let results = results(&log);
    assert_eq!(results.len(), 1, "{log:#}");
    assert_eq!(results[0]["ruleId"], "lock-out-of-date");
    assert_eq!(located(&results[0]), ("images.toml", 5, None));
}

/// A project whose `services/web/Dockerfile` names `acme/api:v1` by tag
/// on line 2, and whose `deploy/broken.yaml` does not parse.
fn unpinned_project() -> (Registry, Project) {
    let (reg, project) = locked_project();
    let web = project.path().join("services/web");
    std::fs::create_dir_all(&web).expect("mkdir");
    std::fs::write(
        web.join("Dockerfile"),
        format!(
            "# syntax=docker/dockerfile:1\nFROM {}/acme/api:v1 AS build\nARG BASE\nFROM ${{BASE}}\n",
            reg.addr()
        ),
    )
    .expect("write the Dockerfile");
    std::fs::create_dir_all(project.path().join("deploy")).expect("mkdir");
    std::fs::write(
        project.path().join("deploy/broken.yaml"),
        "apiVersion: v1\nkind: Pod\nspec: [unclosed\n",
    )
    .expect("write broken.yaml");
    (reg, project)
}

#[test]
fn pin_check_sarif_locates_an_unpinned_reference_at_its_file_and_line() {
    let (_reg, project) = unpinned_project();
    let locked = project.lock().images["api"].digest.to_string();
    // Drift (1) wins over the file that could not be read (2).
    let log = sarif_of(&project, &["pin", "--check"], 1);
    assert_srcroot_is(&log, project.path());
    let by_rule = |rule: &str| -> Vec<&Value> {
        results(&log)
            .iter()
            .filter(|r| r["ruleId"] == rule)
            .collect()
    };

    let unpinned = by_rule("unpinned");
    assert_eq!(unpinned.len(), 1, "{log:#}");
    assert_eq!(unpinned[0]["level"], "error");
    // `FROM ` is five characters: the reference starts in column 6.
    assert_eq!(
        located(unpinned[0]),
        ("services/web/Dockerfile", 2, Some(6))
    );
    let message = unpinned[0]["message"]["text"].as_str().expect("text");
    assert!(
        message.contains("is not pinned") && message.contains(&locked),
        "{message}"
    );
    assert!(unpinned[0].get("fixes").is_none(), "fixes only with --diff");

    let unreadable = by_rule("unreadable-file");
    assert_eq!(unreadable.len(), 1, "{log:#}");
    assert_eq!(unreadable[0]["level"], "error");
    assert_eq!(
        unreadable[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "deploy/broken.yaml"
    );

    let left_alone = by_rule("left-alone");
    assert_eq!(left_alone.len(), 1, "{log:#}");
    assert_eq!(left_alone[0]["level"], "warning");
    assert_eq!(located(left_alone[0]), ("services/web/Dockerfile", 4, None));
}

#[test]
fn pin_check_diff_sarif_carries_the_fix_pin_writes() {
    let (_reg, project) = unpinned_project();
    let dockerfile = project.path().join("services/web/Dockerfile");
    let before = std::fs::read_to_string(&dockerfile).expect("read");
    let run = project.images(&["pin", "--check", "--diff", "--format", "sarif", "services"]);
    run.expect_code(1);
    let log = valid_sarif(&run);
    let unpinned: Vec<&Value> = results(&log)
        .iter()
        .filter(|r| r["ruleId"] == "unpinned")
        .collect();
    assert_eq!(unpinned.len(), 1, "{log:#}");
    let change = &unpinned[0]["fixes"][0]["artifactChanges"][0];
    assert_eq!(
        change["artifactLocation"]["uri"], "services/web/Dockerfile",
        "{change:#}"
    );
    let replacement = &change["replacements"][0];
    let offset = replacement["deletedRegion"]["byteOffset"]
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .expect("byteOffset");
    let length = replacement["deletedRegion"]["byteLength"]
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .expect("byteLength");
    let inserted = replacement["insertedContent"]["text"]
        .as_str()
        .expect("inserted text");
    let fixed = format!(
        "{}{inserted}{}",
        &before[..offset],
        &before[offset + length..]
    );
    assert_eq!(
        std::fs::read_to_string(&dockerfile).expect("read"),
        before,
        "--check writes nothing"
    );
    // Applying the fix gives the file `images pin` writes.
    project.images(&["pin", "services"]).expect_code(0);
    assert_eq!(std::fs::read_to_string(&dockerfile).expect("read"), fixed);
}

#[test]
fn pin_sarif_needs_check() {
    let (_reg, project) = unpinned_project();
    let before = std::fs::read(project.path().join("services/web/Dockerfile")).expect("read");
    let run = project.images(&["pin", "--format", "sarif"]);
    run.expect_code(2);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains("--check"), "{}", run.stderr);
    assert_eq!(
        std::fs::read(project.path().join("services/web/Dockerfile")).expect("read"),
        before,
        "refused before anything was written"
    );
}
