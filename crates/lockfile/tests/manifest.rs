//! `images.toml`: what it accepts, and that every mistake is one line naming
//! the file, line, column and entry.

use std::path::{Path, PathBuf};

use images_lockfile::{
    find_manifest, Manifest, ManifestErrorKind, Platform, Platforms, MANIFEST_FILE,
};

fn parse(text: &str) -> Result<Manifest, images_lockfile::ManifestError> {
    Manifest::parse(text, Path::new("images.toml"))
}

fn error(text: &str) -> String {
    let message = parse(text)
        .expect_err("manifest should be refused")
        .to_string();
    assert!(!message.contains('\n'), "error is not one line: {message}");
    message
}

const EXAMPLE: &str = r#"[images]
web   = "nginx:1.27"                                   # short form
api   = { image = "ghcr.io/acme/api:v1.2.11" }
base  = { image = "alpine:latest", mutable = true }    # expected to move: verify warns
db    = { image = "postgres:16", platforms = ["linux/arm64", "linux/amd64", "linux/amd64"] }

[registries."registry.internal:5000"]
insecure = true        # plain HTTP allowed for this registry only
ca = "certs/internal-ca.pem"   # extra trust root for this registry
"#;

#[test]
fn parses_the_design_example() {
    let m = Manifest::parse(EXAMPLE, Path::new("/repo/images.toml")).expect("valid manifest");
    let names: Vec<&str> = m.images.keys().map(String::as_str).collect();
    assert_eq!(names, ["api", "base", "db", "web"]);

    let web = &m.images["web"];
    assert_eq!(web.name, "web");
    assert_eq!(web.reference.to_string(), "docker.io/library/nginx:1.27");
    assert!(!web.mutable);
    assert!(web.platforms.is_empty());
    assert_eq!(web.line, 2);

    assert_eq!(
        m.images["api"].reference.to_string(),
        "ghcr.io/acme/api:v1.2.11"
    );
    assert!(m.images["base"].mutable);
    assert_eq!(m.images["base"].line, 4);

    let db = &m.images["db"];
    let expected: Platforms = ["linux/amd64", "linux/arm64"]
        .iter()
        .map(|p| Platform::parse(p).expect("valid platform"))
        .collect();
    assert_eq!(db.platforms, expected, "sorted and deduplicated");

    let registry = m
        .registry("registry.internal:5000")
        .expect("registry configured");
    assert!(registry.insecure);
    assert_eq!(
        registry.ca,
        Some(PathBuf::from("/repo/certs/internal-ca.pem"))
    );
    assert!(m.registry("docker.io").is_none());
}

#[test]
fn table_form_entries_have_their_header_line() {
    let m = parse("[images.web]\nimage = \"nginx\"\nmutable = true\n").expect("valid manifest");
    assert_eq!(m.images["web"].line, 1);
    assert!(m.images["web"].mutable);
}

#[test]
fn empty_images_table_is_fine() {
    assert!(parse("[images]\n").expect("valid").images.is_empty());
    assert!(parse("").expect("valid").images.is_empty());
}

#[test]
fn malformed_toml_names_line_and_column() {
    let message = error("[images]\nweb = \"nginx:1.27\n");
    assert!(message.starts_with("images.toml:2:"), "{message}");
    assert!(message.contains("invalid TOML"), "{message}");
}

#[test]
fn unknown_key_in_image_names_key_entry_and_expected_keys() {
    let message = error("[images]\nweb = { imgae = \"nginx\" }\n");
    assert_eq!(
        message,
        "images.toml:2:9: unknown key `imgae` in image `web` (expected `image`, `mutable`, `platforms`, `version`, `tags` or `signed-by`)"
    );
}

#[test]
fn unknown_key_in_registry_is_refused() {
    let message = error("[registries.\"r.example:5000\"]\ninsecure = true\ncert = \"x.pem\"\n");
    assert_eq!(
        message,
        "images.toml:3:1: unknown key `cert` in registry `r.example:5000` (expected `insecure` or `ca`)"
    );
}

#[test]
fn unknown_top_level_key_is_refused() {
    let message = error("[images]\nweb = \"nginx\"\n\n[image]\napi = \"x\"\n");
    assert_eq!(
        message,
        "images.toml:4:2: unknown key `image` at the top level (expected `images`, `registries`, `pin` or `signers`)"
    );
}

#[test]
fn pin_exclude_holds_globs_relative_to_the_manifest() {
    let manifest = parse(
        "[images]\nweb = \"nginx\"\n\n[pin]\nexclude = [\"./deploy/legacy/\", \"**/*.gen.yaml\"]\n",
    )
    .expect("parses");
    assert_eq!(manifest.pin.exclude, ["deploy/legacy", "**/*.gen.yaml"]);
    assert!(parse("[images]\n").expect("parses").pin.exclude.is_empty());
}

#[test]
fn pin_exclude_mistakes_are_refused_at_their_line() {
    assert_eq!(
        error("[pin]\nexcludes = []\n"),
        "images.toml:2:1: unknown key `excludes` in `[pin]` (expected `exclude`)"
    );
    let message = error("[pin]\nexclude = [\n  \"ok/**\",\n  \"deploy/[\",\n]\n");
    assert!(
        message.starts_with("images.toml:4:3: `[pin] exclude` glob `deploy/[` is not a valid glob"),
        "{message}"
    );
    for (text, expected) in [
        ("[pin]\nexclude = \"vendor\"\n", "must be an array of globs"),
        ("[pin]\nexclude = [1]\n", "must hold strings"),
        ("[pin]\nexclude = [\"/abs\"]\n", "must be relative"),
        ("[pin]\nexclude = [\"../up\"]\n", "must be relative"),
        ("[pin]\nexclude = [\"./\"]\n", "is empty"),
    ] {
        let message = error(text);
        assert!(message.contains(expected), "{text}: {message}");
    }
}

#[test]
fn invalid_reference_names_entry_and_reason() {
    let message = error("[images]\nweb = \"nginx\"\nbad = \"Foo:bar\"\n");
    assert_eq!(
        message,
        "images.toml:3:7: image `bad`: invalid reference `Foo:bar`: repository name must be lowercase"
    );
    let message = error("[images]\nweb = { image = \"nginx:-1\" }\n");
    assert!(
        message
            .starts_with("images.toml:2:17: image `web`: invalid reference `nginx:-1`: tag `-1`"),
        "{message}"
    );
}

#[test]
fn bad_digest_in_reference_says_which_algorithms() {
    let message = error("[images]\nweb = \"nginx@md5:d41d8cd98f00b204e9800998ecf8427e\"\n");
    assert!(
        message.starts_with("images.toml:2:7: image `web`: invalid reference"),
        "{message}"
    );
    assert!(
        message.ends_with(
            "unsupported digest algorithm `md5`: only sha256 and sha512 can pin an image"
        ),
        "{message}"
    );
    let message = error("[images]\nweb = \"nginx@sha256:abcd\"\n");
    assert!(
        message.contains("sha256 needs 64 hex digits, found 4"),
        "{message}"
    );
}

#[test]
fn bad_platform_names_entry_and_position() {
    let message = error(
        "[images]\ndb = { image = \"postgres:16\", platforms = [\"linux/amd64\", \"linux\"] }\n",
    );
    assert!(
        message.starts_with(
            "images.toml:2:59: image `db`: invalid platform `linux`: expected `os/architecture`"
        ),
        "{message}"
    );
    let message =
        error("[images]\ndb = { image = \"postgres:16\", platforms = \"linux/amd64\" }\n");
    assert!(
        message.contains("`platforms` in image `db` must be an array of strings, found a string"),
        "{message}"
    );
}

#[test]
fn duplicate_image_names_are_refused_clearly() {
    let message = error("[images]\nweb = \"nginx\"\nweb = \"httpd\"\n");
    assert!(message.starts_with("images.toml:3:"), "{message}");
    assert!(
        message.contains("image `web` is declared more than once"),
        "{message}"
    );
    // However the second one is written: quoted, as a table header, dotted.
    for text in [
        "[images]\nweb = \"nginx\"\n\"web\" = \"httpd\"\n",
        "[images.web]\nimage = \"nginx\"\n\n[images.web]\nimage = \"httpd\"\n",
        "[images]\nweb = \"nginx\"\n\n[images.web]\nimage = \"httpd\"\n",
        "images.web = \"nginx\"\nimages.web = \"httpd\"\n",
    ] {
        let message = error(text);
        assert!(
            message.contains("image `web` is declared more than once"),
            "{text:?}: {message}"
        );
    }
    // A key twice anywhere else is plain invalid TOML, naming key and table.
    let message = error("[registries.\"r:5000\"]\ninsecure = true\ninsecure = false\n");
    assert_eq!(
        message,
        "images.toml:3:1: invalid TOML: duplicate key `insecure` in table `registries.r:5000`"
    );
}

#[test]
fn wrong_types_say_what_was_expected() {
    assert_eq!(
        error("[images]\nweb = 3\n"),
        "images.toml:2:7: image `web` must be a string like `\"nginx:1.27\"` or a table like `{ image = \"nginx:1.27\" }`, found an integer"
    );
    assert_eq!(
        error("[images]\nweb = { image = \"nginx\", mutable = \"yes\" }\n"),
        "images.toml:2:36: `mutable` in image `web` must be a boolean, found a string"
    );
    assert_eq!(
        error("[images]\nweb = { mutable = true }\n"),
        "images.toml:2:1: image `web` has no `image` key (expected `image = \"nginx:1.27\"`)"
    );
    assert_eq!(
        error("images = 1\n"),
        "images.toml:1:10: `[images]` must be a table, found an integer"
    );
    assert!(error("[images]\nweb = 1979-05-27\n").ends_with("found a date or time"));
}

#[test]
fn registry_keys_must_be_hosts() {
    let message = error("[registries.\"not a host\"]\ninsecure = true\n");
    assert!(
        message.starts_with("images.toml:1:13: registry `not a host` is not a registry host"),
        "{message}"
    );
}

#[test]
fn legacy_docker_hub_registry_settings_apply_to_docker_io() {
    let m = parse("[registries.\"index.docker.io\"]\ninsecure = false\n").expect("valid");
    assert!(m.registry("docker.io").is_some());
}

#[test]
fn missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(MANIFEST_FILE);
    let err = Manifest::load(&path).expect_err("no file");
    assert_eq!(err.kind(), ManifestErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        format!("{}: cannot read: file not found", path.display())
    );
    let err = images_lockfile::ManifestError::not_found(dir.path());
    assert_eq!(
        err.to_string(),
        format!(
            "{}: no images.toml found here or in any parent directory",
            dir.path().display()
        )
    );
}

#[test]
fn find_manifest_walks_up_like_cargo() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("a/b/c");
    std::fs::create_dir_all(&nested).expect("create dirs");
    assert_eq!(find_manifest(&nested), None);
    std::fs::write(dir.path().join("a").join(MANIFEST_FILE), "[images]\n").expect("write");
    assert_eq!(
        find_manifest(&nested),
        Some(dir.path().join("a").join(MANIFEST_FILE))
    );
    let m = Manifest::load(&dir.path().join("a").join(MANIFEST_FILE)).expect("loads");
    assert!(m.images.is_empty());
}

#[test]
fn garbage_never_panics() {
    for text in [
        "\u{0}",
        "[",
        "[images]\n= 1",
        "[[images]]\nweb = 1",
        "[images]\n\"\" = \"nginx\"",
        "registries = []",
    ] {
        let _ = parse(text);
    }
    assert!(error("[images]\n\"\" = \"nginx\"\n").contains("image names must not be empty"));
}

#[test]
fn values_of_the_wrong_type_say_what_they_are() {
    // Every place the reader checks a value's type, with the exact words
    // and position, so that rewording one is a deliberate change.
    for (text, expected) in [
        (
            "[images]\nweb = { image = 1 }\n",
            r#"images.toml:2:17: `image` in image `web` must be a string, found an integer"#,
        ),
        (
            "[images]\nweb = { image = \"nginx\", mutable = 1 }\n",
            r#"images.toml:2:36: `mutable` in image `web` must be a boolean, found an integer"#,
        ),
        (
            "[images]\nweb = { image = \"nginx\", version = 1 }\n",
            r#"images.toml:2:36: `version` in image `web` must be a string like `"~1.27"`, found an integer"#,
        ),
        (
            "[images]\nweb = { image = \"nginx\", tags = 1 }\n",
            r#"images.toml:2:33: `tags` in image `web` must be a regular expression like `'^v?(\d+\.\d+\.\d+)$'`, found an integer"#,
        ),
        (
            "[images]\nweb = { image = \"nginx\", platforms = \"x\" }\n",
            r#"images.toml:2:38: `platforms` in image `web` must be an array of strings, found a string"#,
        ),
        (
            "[images]\nweb = { image = \"nginx\", platforms = [1] }\n",
            r#"images.toml:2:39: `platforms` in image `web` must hold strings like `"linux/amd64"`, found an integer"#,
        ),
        (
            "[images]\nweb = { image = \"nginx\", signed-by = 1 }\n",
            r#"images.toml:2:38: `signed-by` in image `web` must be a signer name or a list of them, like `"acme"` or `["acme", "ops"]`, found an integer"#,
        ),
        (
            "[images]\nweb = { image = \"nginx\", signed-by = [1] }\n",
            r#"images.toml:2:39: `signed-by` in image `web` must be a signer name or a list of them, like `"acme"` or `["acme", "ops"]`, found an integer"#,
        ),
        (
            "[images]\nweb = 1\n",
            r#"images.toml:2:7: image `web` must be a string like `"nginx:1.27"` or a table like `{ image = "nginx:1.27" }`, found an integer"#,
        ),
        (
            "[images]\nweb = 1979-05-27\n",
            r#"images.toml:2:7: image `web` must be a string like `"nginx:1.27"` or a table like `{ image = "nginx:1.27" }`, found a date or time"#,
        ),
        (
            "[signers.acme]\nkeys = \"k\"\n",
            r#"images.toml:2:8: `keys` in signer `acme` must be a list of public key files, like `["keys/cosign.pub"]`, found a string"#,
        ),
        (
            "[signers.acme]\nkeys = [1]\n",
            r#"images.toml:2:9: `keys` in signer `acme` must be a list of public key files, like `["keys/cosign.pub"]`, found an integer in it"#,
        ),
        (
            "[signers.acme]\nimages = 1\n",
            r#"images.toml:2:10: `images` in signer `acme` must be a list of repositories, like `["ghcr.io/acme/*"]`, found an integer"#,
        ),
        (
            "[signers]\nacme = 1\n",
            r#"images.toml:2:8: signer `acme` must be a table, found an integer"#,
        ),
        (
            "[registries.\"r.io\"]\ninsecure = 1\n",
            r#"images.toml:2:12: `insecure` in registry `r.io` must be a boolean, found an integer"#,
        ),
        (
            "[registries.\"r.io\"]\nca = 1\n",
            r#"images.toml:2:6: `ca` in registry `r.io` must be a path to a PEM file, found an integer"#,
        ),
        (
            "[registries.\"r.io\"]\nca = \"\"\n",
            r#"images.toml:2:6: `ca` in registry `r.io` must be a path to a PEM file, found an empty string"#,
        ),
        (
            "[registries]\n\"r.io\" = 1\n",
            r#"images.toml:2:10: registry `r.io` must be a table, found an integer"#,
        ),
        (
            "[pin]\nexclude = \"x\"\n",
            r#"images.toml:2:11: `exclude` in `[pin]` must be an array of globs like `["vendor", "deploy/**/*.gen.yaml"]`, found a string"#,
        ),
        (
            "[pin]\nexclude = [1]\n",
            r#"images.toml:2:12: `exclude` in `[pin]` must hold strings (globs), found an integer"#,
        ),
        (
            "pin = 1\n",
            r#"images.toml:1:7: `[pin]` must be a table, found an integer"#,
        ),
        (
            "signers = 1\n",
            r#"images.toml:1:11: `[signers]` must be a table, found an integer"#,
        ),
        (
            "registries = 1\n",
            r#"images.toml:1:14: `[registries]` must be a table, found an integer"#,
        ),
        (
            "images = 1\n",
            r#"images.toml:1:10: `[images]` must be a table, found an integer"#,
        ),
    ] {
        assert_eq!(error(text), expected, "for {text:?}");
    }
}
