//! `images pin` on files written the many ways real projects write them:
//! heredocs, odd but valid YAML, templates, digest-only references, two
//! entries for one tag, and YAML built to explode.
//!
//! Each test writes its own small tree into a scratch project whose
//! images.toml declares a few fixture images and is locked against the
//! test registry.

use images_testkit::{Fixture, Kind, Registry};

use crate::support::Project;

/// A project declaring `tools` (`acme/tools:1`) and `web` (`acme/web:1.0`),
/// locked, with `files` written into it (`{R}` replaced by the registry's
/// address). Returns the registry, the project and the two locked digests.
pub(crate) fn project_with(files: &[(&str, &str)]) -> (Registry, Project, String, String) {
    let reg = Registry::start().expect("start the test registry");
    let addr = reg.addr();
    let tools = reg
        .push("acme/tools", "1", &Fixture::new(Kind::OciManifest, "tools"))
        .expect("push");
    let web = reg
        .push("acme/web", "1.0", &Fixture::new(Kind::OciIndex, "web"))
        .expect("push");
    let project = Project::new(&format!(
        "[images]\ntools = \"{addr}/acme/tools:1\"\nweb = \"{addr}/acme/web:1.0\"\n"
    ));
    project.images(&["lock"]).expect_code(0);
    for (path, text) in files {
        write(&project, path, &text.replace("{R}", &addr));
    }
    (reg, project, tools.digest, web.digest)
}

pub(crate) fn write(project: &Project, path: &str, text: &str) {
    let path = project.path().join(path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create dir");
    }
    std::fs::write(path, text).expect("write file");
}

pub(crate) fn read(project: &Project, path: &str) -> String {
    std::fs::read_to_string(project.path().join(path)).expect("read project file")
}

// Item 11: heredocs as BuildKit reads them.

#[test]
fn pin_leaves_the_body_of_a_heredoc_with_an_fd_prefix_alone() {
    let dockerfile = "FROM {R}/acme/tools:1\n\
                      RUN cat 3<<ENV >/etc/x\n\
                      FROM {R}/acme/web:1.0\n\
                      ENV\n\
                      RUN cat << SPACED\n\
                      FROM {R}/acme/web:1.0\n\
                      SPACED\n";
    let (reg, project, tools, _) = project_with(&[("Dockerfile", dockerfile)]);
    project.images(&["pin"]).expect_code(0);
    let addr = reg.addr();
    let expected = dockerfile.replace("{R}", &addr).replacen(
        "acme/tools:1\n",
        &format!("acme/tools:1@{tools}\n"),
        1,
    );
    assert_eq!(read(&project, "Dockerfile"), expected);
}

#[test]
fn pin_does_not_take_a_quoted_shift_for_a_heredoc() {
    let dockerfile = "FROM {R}/acme/tools:1\n\
                      RUN echo \"see <<EOF for details\" && echo '<<X'\n\
                      FROM {R}/acme/web:1.0\n";
    let (_reg, project, tools, web) = project_with(&[("Dockerfile", dockerfile)]);
    project.images(&["pin"]).expect_code(0);
    let text = read(&project, "Dockerfile");
    assert!(text.contains(&format!("acme/tools:1@{tools}\n")), "{text}");
    assert!(text.contains(&format!("acme/web:1.0@{web}\n")), "{text}");
}

// Item 12: two entries for one name:tag.

#[test]
fn pin_matches_the_entry_with_the_exact_digest_and_refuses_to_guess_between_two() {
    let reg = Registry::start().expect("start the test registry");
    let addr = reg.addr();
    let old = reg
        .push("acme/tools", "1", &Fixture::new(Kind::OciManifest, "old"))
        .expect("push");
    let new = reg
        .push("acme/tools", "1", &Fixture::new(Kind::OciManifest, "new"))
        .expect("push");
    let project = Project::new(&format!(
        "[images]\ntools = \"{addr}/acme/tools:1\"\ntools-old = \"{addr}/acme/tools:1@{}\"\n",
        old.digest
    ));
    project.images(&["lock"]).expect_code(0);
    let pinned_old = format!("FROM {addr}/acme/tools:1@{}\n", old.digest);
    let plain = format!("FROM {addr}/acme/tools:1\n");
    write(&project, "old/Dockerfile", &pinned_old);
    write(&project, "plain/Dockerfile", &plain);

    let run = project.images(&["pin"]);
    run.expect_code(2);
    // The reference carrying `tools-old`'s digest is that entry's: kept.
    assert_eq!(read(&project, "old/Dockerfile"), pinned_old);
    // The one without a digest could be either: an error naming both, untouched.
    assert_eq!(read(&project, "plain/Dockerfile"), plain);
    assert!(
        run.stderr.contains("plain/Dockerfile:1")
            && run.stderr.contains("`tools`")
            && run.stderr.contains("`tools-old`"),
        "{}",
        run.stderr
    );
    assert!(!read(&project, "plain/Dockerfile").contains(&new.digest));

    let check = project.images(&["pin", "--check", "old"]);
    check.expect_code(0);
    // Ambiguity is images.toml's to fix (2), not drift (1).
    let check = project.images(&["pin", "--check", "plain"]);
    check.expect_code(2);
    assert!(
        check.stdout.contains("plain/Dockerfile:1: `")
            && check
                .stdout
                .contains("could be any of `tools` and `tools-old`"),
        "{}",
        check.stdout
    );
}

// Item 13: valid files that were refused or skipped.

#[test]
fn pin_reads_flow_sequences_closed_at_the_parent_key_column() {
    // As libyaml, docker compose and kubectl accept them: items at the
    // key's column, and `]` left of it.
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n\
                    \x20 - name: a\n    image: {R}/acme/tools:1\n    command: [\n    \"sleep\",\n    1\n    ]\n\
                    \x20 - name: b\n    image: {R}/acme/web:1.0\n    args: [\n      \"x\"\n  ]\n";
    let (_reg, project, tools, web) = project_with(&[("deploy/pod.yaml", manifest)]);
    let run = project.images(&["pin"]);
    run.expect_code(0);
    let text = read(&project, "deploy/pod.yaml");
    assert!(text.contains(&format!("acme/tools:1@{tools}\n")), "{text}");
    assert!(text.contains(&format!("acme/web:1.0@{web}\n")), "{text}");
    assert!(text.contains("    command: [\n    \"sleep\",\n    1\n    ]\n"));
}

#[test]
fn pin_reads_a_tab_after_image_colon() {
    let compose = "services:\n  web:\n    image:\t{R}/acme/web:1.0\n  tools:\n    image:\t \"{R}/acme/tools:1\"\n";
    let (reg, project, tools, web) = project_with(&[("compose.yaml", compose)]);
    project.images(&["pin"]).expect_code(0);
    let addr = reg.addr();
    assert_eq!(
        read(&project, "compose.yaml"),
        format!(
            "services:\n  web:\n    image:\t{addr}/acme/web:1.0@{web}\n  tools:\n    image:\t \"{addr}/acme/tools:1@{tools}\"\n"
        )
    );
}

#[test]
fn pin_reads_a_kubernetes_manifest_that_starts_with_a_bom() {
    let manifest = "\u{feff}apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: {R}/acme/tools:1\r\n";
    let (reg, project, tools, _) = project_with(&[("deploy/pod.yaml", manifest)]);
    project.images(&["pin"]).expect_code(0);
    assert_eq!(
        read(&project, "deploy/pod.yaml"),
        manifest
            .replace("{R}", &reg.addr())
            .replace("tools:1\r", &format!("tools:1@{tools}\r"))
    );
}

#[test]
fn pin_reads_manifests_with_braces_that_parse_and_reports_templates_it_skips() {
    let config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dash\ndata:\n  dashboard.json: '{\"title\": \"{{ instance }}\"}'\n\
                      ---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: {R}/acme/tools:1\n";
    let template = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: {{ .Values.image }}\n        {{- with .Values.env }}\n        env: {{ toYaml . | nindent 8 }}\n        {{- end }}\n";
    let (_reg, project, tools, _) = project_with(&[
        ("deploy/dashboard.yaml", config_map),
        ("charts/web/templates/deploy.yaml", template),
    ]);
    let run = project.images(&["pin"]);
    run.expect_code(0);
    assert!(
        read(&project, "deploy/dashboard.yaml").contains(&format!("acme/tools:1@{tools}")),
        "a manifest whose text holds `{{{{` but parses is pinned"
    );
    assert_eq!(read(&project, "charts/web/templates/deploy.yaml"), template);
    assert!(
        run.stderr.contains(
            "1 file(s) skipped as templates (not YAML until rendered) in charts/web/templates"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("deploy.yaml"), "{}", run.stderr);
    let verbose = project.images(&["pin", "-v", "--check"]);
    verbose.expect_code(0);
    assert!(
        verbose
            .stderr
            .contains("skipped as a template: charts/web/templates/deploy.yaml"),
        "{}",
        verbose.stderr
    );
}

#[test]
fn pin_check_never_claims_all_pinned_beside_an_error_or_skipped_files() {
    let template = "{{- if .Values.pod }}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  containers:\n  - image: {{ .Values.image }}\n{{- end }}\n";
    let (_reg, project, _, _) = project_with(&[("charts/x/templates/pod.yaml", template)]);
    let run = project.images(&["pin", "--check"]);
    run.expect_code(0);
    assert!(!run.stderr.contains("All 0"), "{}", run.stderr);
    assert!(
        run.stderr.contains("1 file(s) skipped as templates"),
        "{}",
        run.stderr
    );

    write(&project, "Dockerfile", "FROM alpine:3.20\nFORM typo\n");
    let run = project.images(&["pin", "--check"]);
    run.expect_code(2);
    assert!(!run.stderr.contains("All "), "{}", run.stderr);
    let run = project.images(&["pin"]);
    run.expect_code(2);
    assert!(!run.stderr.contains("All "), "{}", run.stderr);
}

#[test]
fn pin_does_not_read_a_dockerignore_file_as_a_dockerfile() {
    let ignore = "node_modules\n*.md\n!README.md\n";
    let (_reg, project, _, _) = project_with(&[
        ("Dockerfile.dockerignore", ignore),
        ("Dockerfile", "FROM {R}/acme/tools:1\n"),
    ]);
    project.images(&["pin"]).expect_code(0);
    assert_eq!(read(&project, "Dockerfile.dockerignore"), ignore);
}

#[test]
fn pin_matches_a_digest_only_reference_to_the_entry_locked_at_that_digest() {
    let (reg, project, tools, _) = project_with(&[]);
    let addr = reg.addr();
    let dockerfile = format!("FROM {addr}/acme/tools@{tools}\n");
    write(&project, "Dockerfile", &dockerfile);
    let run = project.images(&["pin", "--check", "--format", "json"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["references"][0]["status"], "pinned", "{report}");
    assert_eq!(report["references"][0]["name"], "tools", "{report}");
    project.images(&["pin"]).expect_code(0);
    assert_eq!(read(&project, "Dockerfile"), dockerfile);

    // Declared by digest alone, the same reference is that entry's too.
    project.write_manifest(&format!("[images]\nbase = \"{addr}/acme/tools@{tools}\"\n"));
    project.images(&["lock"]).expect_code(0);
    let report = project
        .images(&["pin", "--check", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(report["references"][0]["name"], "base", "{report}");
}

// Item 14: merge keys that fan out.

#[test]
fn pin_refuses_yaml_whose_merge_keys_fan_out_exponentially() {
    // Ten aliases wide, nine levels deep: 10^9 paths to a key that is not there.
    let mut compose = String::from("x-0: &a0 {restart: always}\n");
    for level in 1..=9 {
        let aliases = vec![format!("*a{}", level - 1); 10].join(", ");
        compose.push_str(&format!("x-{level}: &a{level}\n  <<: [{aliases}]\n"));
    }
    compose.push_str("services:\n  web:\n    <<: *a9\n    command: run\n");
    let (_reg, project, _, _) = project_with(&[
        ("compose.yaml", &compose),
        ("Dockerfile", "FROM {R}/acme/tools:1\n"),
    ]);
    let run = project.images(&["pin"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("`compose.yaml`")
            && run.stderr.contains("aliases and merge keys")
            && run.stderr.contains("the file was left untouched"),
        "{}",
        run.stderr
    );
    assert_eq!(read(&project, "compose.yaml"), compose);
    assert!(read(&project, "Dockerfile").contains("@sha256:"));
}
