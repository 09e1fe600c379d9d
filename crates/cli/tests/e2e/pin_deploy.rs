//! `images pin` on the files people deploy from beyond plain manifests:
//! Helm values files, kustomizations, Dockerfile `ARG` defaults and custom
//! resources (issue 14, part 1).

use crate::pin_inputs::{project_with, read, write};
use crate::support::Project;

const CHART: &str = "apiVersion: v2\nname: api\nversion: 0.1.0\nappVersion: \"1.0\"\n";

const VALUES: &str = "# Default values for api.\n\
                      replicaCount: 1\n\
                      image:\n\
                      \x20 registry: {R}\n\
                      \x20 repository: acme/web\n\
                      \x20 tag: \"1.0\"\n\
                      \x20 digest: \"\"  # written by images pin\n\
                      \x20 pullPolicy: IfNotPresent\n\
                      tools:\n\
                      \x20 image:\n\
                      \x20   repository: {R}/acme/tools\n\
                      \x20   tag: '1'\n\
                      proxy:\n\
                      \x20 image: {repository: nginx, tag: \"1.27\"}\n";

const VALUES_PROD: &str = "image:\r\n\
                           \x20 registry: {R}\r\n\
                           \x20 repository: acme/web\r\n\
                           \x20 tag: 1.0\r\n\
                           \x20 digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\r\n";

#[test]
fn pin_writes_the_digest_field_of_helm_values_or_the_tag_where_there_is_none() {
    let (reg, project, tools, web) = project_with(&[
        ("charts/api/Chart.yaml", CHART),
        ("charts/api/values.yaml", VALUES),
        ("charts/api/values-prod.yaml", VALUES_PROD),
        // Not beside a Chart.yaml: not searched, read when named.
        (
            "config/values.yaml",
            "image:\n  repository: {R}/acme/tools\n  tag: 1 # the tools\n",
        ),
    ]);
    let addr = reg.addr();
    project.images(&["pin"]).expect_code(0);
    let expected = VALUES
        .replace("{R}", &addr)
        .replace("digest: \"\"", &format!("digest: \"{web}\""))
        .replace("tag: '1'", &format!("tag: '1@{tools}'"));
    assert_eq!(read(&project, "charts/api/values.yaml"), expected);
    let expected_prod = VALUES_PROD.replace("{R}", &addr).replace(
        "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        &format!("\"{web}\""),
    );
    assert_eq!(read(&project, "charts/api/values-prod.yaml"), expected_prod);
    let config = format!("image:\n  repository: {addr}/acme/tools\n  tag: 1 # the tools\n");
    assert_eq!(read(&project, "config/values.yaml"), config);

    project
        .images(&["pin", "config/values.yaml"])
        .expect_code(0);
    assert_eq!(
        read(&project, "config/values.yaml"),
        format!("image:\n  repository: {addr}/acme/tools\n  tag: \"1@{tools}\" # the tools\n")
    );
    // Pinned now; only the undeclared docker.io image is listed.
    let check = project.images(&["pin", "--check"]);
    check.expect_code(1);
    assert_eq!(
        check.stdout,
        "charts/api/values.yaml:14: `nginx:1.27` is not declared in images.toml\n"
    );
    let run = project.images(&["pin", "--discover"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "nginx = \"nginx:1.27\"  # charts/api/values.yaml:14\n"
    );
}

#[test]
fn pin_refuses_helm_values_whose_image_fields_are_not_strings() {
    let values = "image:\n  repository: {R}/acme/web\n  tag:\n    major: 1\n";
    let (reg, project, _, _) = project_with(&[
        ("charts/api/Chart.yaml", CHART),
        ("charts/api/values.yaml", values),
    ]);
    let run = project.images(&["pin"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("`charts/api/values.yaml:3` image.tag is not a string"),
        "{}",
        run.stderr
    );
    assert_eq!(
        read(&project, "charts/api/values.yaml"),
        values.replace("{R}", &reg.addr())
    );
}

const KUSTOMIZATION: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\n\
                             kind: Kustomization\n\
                             images:\n\
                             \x20 - name: web\n\
                             \x20   newName: {R}/acme/web\n\
                             \x20   newTag: \"1.0\" # the release\n\
                             \x20 - name: {R}/acme/tools\n\
                             \x20   newTag: \"1\"\n\
                             \x20   digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n";

#[test]
fn pin_writes_the_digest_of_kustomize_images_and_keeps_new_tag() {
    let (reg, project, tools, web) =
        project_with(&[("overlays/prod/kustomization.yaml", KUSTOMIZATION)]);
    project.images(&["pin"]).expect_code(0);
    let expected = KUSTOMIZATION
        .replace("{R}", &reg.addr())
        .replace(
            "# the release\n",
            &format!("# the release\n    digest: {web}\n"),
        )
        .replace(
            "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            &tools,
        );
    assert_eq!(read(&project, "overlays/prod/kustomization.yaml"), expected);
    project.images(&["pin", "--check"]).expect_code(0);
}

#[test]
fn pin_refuses_a_kustomize_entry_whose_digest_conflicts_with_new_tag() {
    let text = KUSTOMIZATION.replace(
        "newTag: \"1\"",
        "newTag: \"1@sha256:1111111111111111111111111111111111111111111111111111111111111111\"",
    );
    let (reg, project, _, _) = project_with(&[("kustomization.yaml", &text)]);
    let run = project.images(&["pin"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("`kustomization.yaml:9` images["),
        "{}",
        run.stderr
    );
    assert_eq!(
        read(&project, "kustomization.yaml"),
        text.replace("{R}", &reg.addr())
    );
}

const STALE: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

#[test]
fn pin_rewrites_a_digest_where_the_file_keeps_it_and_a_second_run_agrees() {
    // A digest kept in the tag beside an empty digest field, one kept in
    // both fields, and a kustomize entry in a flow mapping over two lines.
    let values =
        format!("image:\n  repository: {{R}}/acme/web\n  tag: \"1.0@{STALE}\"\n  digest: \"\"\n");
    let kustomization = format!(
        "images:\n- name: {{R}}/acme/tools\n  newTag: 1@{STALE}\n  digest: {STALE}\n\
         - {{name: web, newName: {{R}}/acme/web,\n   newTag: \"1.0\"}}\n"
    );
    let (reg, project, tools, web) = project_with(&[
        ("charts/api/Chart.yaml", CHART),
        ("charts/api/values.yaml", &values),
        ("kustomization.yaml", &kustomization),
    ]);
    let addr = reg.addr();
    project.images(&["pin"]).expect_code(0);
    assert_eq!(
        read(&project, "charts/api/values.yaml"),
        values.replace("{R}", &addr).replace(STALE, &web)
    );
    assert_eq!(
        read(&project, "kustomization.yaml"),
        kustomization
            .replace("{R}", &addr)
            .replace(STALE, &tools)
            .replace(
                "newTag: \"1.0\"}",
                &format!("newTag: \"1.0\", digest: {web}}}")
            )
    );
    project.images(&["pin", "--check"]).expect_code(0);
}

const CUSTOM_RESOURCES: &str = "apiVersion: monitoring.coreos.com/v1\n\
                                kind: Prometheus\n\
                                metadata:\n\
                                \x20 name: main\n\
                                spec:\n\
                                \x20 image: {R}/acme/web:1.0\n\
                                \x20 replicas: 2\n\
                                ---\n\
                                apiVersion: tekton.dev/v1\n\
                                kind: Task\n\
                                metadata:\n\
                                \x20 name: build\n\
                                spec:\n\
                                \x20 steps:\n\
                                \x20   - name: tools\n\
                                \x20     image: '{R}/acme/tools:1'\n\
                                \x20     script: make\n\
                                ---\n\
                                apiVersion: v1\n\
                                kind: ConfigMap\n\
                                metadata:\n\
                                \x20 name: settings\n\
                                data:\n\
                                \x20 image: {R}/acme/web:1.0\n";

#[test]
fn pin_writes_string_image_fields_of_custom_resources_of_any_kind() {
    let (reg, project, tools, web) = project_with(&[("deploy/crs.yaml", CUSTOM_RESOURCES)]);
    project.images(&["pin"]).expect_code(0);
    let addr = reg.addr();
    let expected = CUSTOM_RESOURCES
        .replace("{R}", &addr)
        .replacen("acme/web:1.0\n", &format!("acme/web:1.0@{web}\n"), 1)
        .replace("acme/tools:1'", &format!("acme/tools:1@{tools}'"));
    // A built-in kind without a pod spec (the ConfigMap) holds no image.
    assert_eq!(read(&project, "deploy/crs.yaml"), expected);
    project.images(&["pin", "--check"]).expect_code(0);
}

const ARG_DOCKERFILE: &str = "ARG BASE={R}/acme/web:1.0\n\
                              ARG TOOLS=\"{R}/acme/tools:1\"\n\
                              FROM ${BASE} AS build\n\
                              ARG TOOLS\n\
                              COPY --from=${TOOLS} /bin/tool /bin/tool\n\
                              FROM $BASE\n\
                              FROM ${LATER}\n\
                              ARG LATER={R}/acme/tools:1\n";

#[test]
fn pin_writes_the_arg_default_a_from_or_copy_from_uses_and_reports_an_arg_used_before_it_is_defined(
) {
    let (reg, project, tools, web) = project_with(&[("Dockerfile", ARG_DOCKERFILE)]);
    let run = project.images(&["pin"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains(
            "Dockerfile:7: `${LATER}` left alone: FROM uses ARG LATER before it is defined"
        ),
        "{}",
        run.stderr
    );
    let addr = reg.addr();
    let expected = ARG_DOCKERFILE
        .replace("{R}", &addr)
        .replacen("acme/web:1.0\n", &format!("acme/web:1.0@{web}\n"), 1)
        .replacen("acme/tools:1\"", &format!("acme/tools:1@{tools}\""), 1);
    assert_eq!(read(&project, "Dockerfile"), expected);
}

/// A tree shaped like the repositories of issue 14: a chart's values, its
/// template, a kustomization, ARG defaults and custom resources.
const TREE: &[(&str, &str)] = &[
    (
        "app/Dockerfile",
        r#"ARG BASE=alpine:3.20
ARG BUILDER=golang:1.22
FROM ${BUILDER} AS build
FROM $BASE
COPY --from=build /out /out
"#,
    ),
    (
        "charts/api/Chart.yaml",
        r#"apiVersion: v2
name: api
version: 0.1.0
appVersion: "1.0"
"#,
    ),
    (
        "charts/api/templates/deployment.yaml",
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  template:
    spec:
      containers:
        - name: api
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
"#,
    ),
    (
        "charts/api/values.yaml",
        r#"image:
  registry: ghcr.io
  repository: acme/api
  tag: "1.0"
  digest: ""
metrics:
  image:
    repository: prom/statsd-exporter
    tag: v0.26.0
initImage: busybox:1.36
proxy:
  image: nginx:1.27
"#,
    ),
    (
        "deploy/monitoring.yaml",
        r#"apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: main
spec:
  image: quay.io/prometheus/prometheus:v2.53.0
---
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: build
spec:
  steps:
    - name: lint
      image: golangci/golangci-lint:v1.59
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.27
"#,
    ),
    (
        "overlays/prod/kustomization.yaml",
        r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
images:
  - name: api
    newName: ghcr.io/acme/api
    newTag: "1.0"
  - name: redis
    newTag: 7.2.4
"#,
    ),
];

#[test]
fn pin_discover_finds_the_images_of_every_shape_in_a_tree_like_real_repositories() {
    let project = Project::new("[images]\n");
    for (path, text) in TREE {
        write(&project, path, text);
    }
    let run = project.images(&["pin", "--discover"]);
    run.expect_code(0);
    // Before issue 14 part 1 this found 1 reference (the Deployment's
    // nginx); now 10 references of 8 images.
    assert_eq!(
        run.stdout,
        "alpine = \"alpine:3.20\"  # app/Dockerfile:1\n\
         golang = \"golang:1.22\"  # app/Dockerfile:2\n\
         api = \"ghcr.io/acme/api:1.0\"  # charts/api/values.yaml:5, overlays/prod/kustomization.yaml:6\n\
         statsd-exporter = \"prom/statsd-exporter:v0.26.0\"  # charts/api/values.yaml:9\n\
         nginx = \"nginx:1.27\"  # charts/api/values.yaml:12, deploy/monitoring.yaml:26\n\
         prometheus = \"quay.io/prometheus/prometheus:v2.53.0\"  # deploy/monitoring.yaml:6\n\
         golangci-lint = \"golangci/golangci-lint:v1.59\"  # deploy/monitoring.yaml:15\n\
         redis = \"redis:7.2.4\"  # overlays/prod/kustomization.yaml:8\n"
    );
}
