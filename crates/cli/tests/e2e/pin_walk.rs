//! Which files `images pin` reads: gitignore semantics whichever way the
//! paths are written, a walk that survives an unreadable directory,
//! `[pin] exclude` in images.toml and the `vendor/` default.

use std::path::Path;
use std::process::Command;

use images_testkit::{Fixture, Kind, Registry};

use crate::support::{Project, Run};

/// A git work tree declaring and locking `tools` (`acme/tools:1`), with
/// `manifest_extra` appended to images.toml and `files` written into it
/// (`{R}` replaced by the registry's address).
fn repository(manifest_extra: &str, files: &[(&str, &str)]) -> (Registry, Project) {
    let reg = Registry::start().expect("start the test registry");
    let addr = reg.addr();
    reg.push("acme/tools", "1", &Fixture::new(Kind::OciManifest, "tools"))
        .expect("push");
    let project = Project::new(&format!(
        "[images]\ntools = \"{addr}/acme/tools:1\"\n{manifest_extra}"
    ));
    project.images(&["lock"]).expect_code(0);
    let git = Command::new("git")
        .args(["init", "-q"])
        .current_dir(project.path())
        .status()
        .expect("run git");
    assert!(git.success());
    for (path, text) in files {
        write(project.path(), path, &text.replace("{R}", &addr));
    }
    (reg, project)
}

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create dir");
    }
    std::fs::write(path, text).expect("write file");
}

fn read(project: &Project, path: &str) -> String {
    std::fs::read_to_string(project.path().join(path)).expect("read project file")
}

/// Runs `images ARGS` in `dir` of the project.
fn images_in(project: &Project, dir: &str, args: &[&str]) -> Run {
    let mut command = project.command(args);
    command.current_dir(project.path().join(dir));
    Run::from(command.output().expect("run images"))
}

const TOOLS: &str = "FROM {R}/acme/tools:1\n";

#[test]
fn pin_honours_an_anchored_gitignore_pattern_however_the_path_is_written() {
    let (reg, project) = repository(
        "",
        &[
            (".gitignore", "/deploy/gen/\n"),
            ("deploy/gen/Dockerfile", TOOLS),
            ("deploy/Dockerfile", TOOLS),
            ("tools/Dockerfile", TOOLS),
        ],
    );
    let ignored = TOOLS.replace("{R}", &reg.addr());
    let absolute = project.path().join("deploy");
    let absolute = absolute.to_str().expect("UTF-8 temp path");
    for (dir, args) in [
        (".", vec!["pin", "deploy/"]),
        (".", vec!["pin", "./deploy/"]),
        (".", vec!["pin", "deploy"]),
        (".", vec!["pin", absolute]),
        ("tools", vec!["--manifest", "../images.toml", "pin"]),
        ("tools", vec!["pin", "../deploy"]),
        ("deploy", vec!["pin", "."]),
    ] {
        let run = images_in(&project, dir, &args);
        run.expect_code(0);
        assert_eq!(
            read(&project, "deploy/gen/Dockerfile"),
            ignored,
            "`images {}` in {dir} pinned an ignored file",
            args.join(" ")
        );
        assert!(
            read(&project, "deploy/Dockerfile").contains("@sha256:"),
            "`images {}` in {dir}",
            args.join(" ")
        );
    }
    assert!(read(&project, "tools/Dockerfile").contains("@sha256:"));
}

#[test]
fn pin_reports_an_unreadable_directory_and_pins_the_rest() {
    let (_reg, project) = repository(
        "",
        &[("secret/Dockerfile", TOOLS), ("app/Dockerfile", TOOLS)],
    );
    // Root reads any directory, so run as `nobody` in a tree it may write.
    let chmod = |mode: &str, path: &Path| {
        let ok = Command::new("chmod")
            .args(["-R", mode])
            .arg(path)
            .status()
            .expect("chmod");
        assert!(ok.success());
    };
    chmod("a+rwX", project.path());
    chmod("a+rX", project.docker_config_dir());
    let secret = project.path().join("secret");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o000))
        .expect("chmod secret");
    let mut command = Command::new("setpriv");
    command.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
    let inner = project.command(&["pin"]);
    command.arg(inner.get_program());
    command.args(inner.get_args());
    command.current_dir(project.path());
    for (key, value) in inner.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    let run = Run::from(command.output().expect("run images as nobody"));
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod secret back");
    run.expect_code(2);
    assert!(
        run.stderr.contains("`secret`") && run.stderr.contains("cannot be read"),
        "{}",
        run.stderr
    );
    assert!(read(&project, "app/Dockerfile").contains("@sha256:"));
    assert!(!read(&project, "secret/Dockerfile").contains("@sha256:"));
}

#[test]
fn pin_skips_vendor_and_what_pin_exclude_names_and_says_so_under_verbose() {
    let broken = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: \"unclosed\n";
    let (reg, project) = repository(
        "\n[pin]\nexclude = [\"deploy/legacy\", \"**/*.generated.yaml\"]\n",
        &[
            ("vendor/github.com/x/y/Dockerfile", TOOLS),
            ("deploy/legacy/broken.yaml", broken),
            ("deploy/app/pod.generated.yaml", broken),
            ("deploy/Dockerfile", TOOLS),
        ],
    );
    let untouched = TOOLS.replace("{R}", &reg.addr());
    let run = project.images(&["pin", "-v"]);
    run.expect_code(0);
    assert_eq!(
        read(&project, "vendor/github.com/x/y/Dockerfile"),
        untouched
    );
    assert!(read(&project, "deploy/Dockerfile").contains("@sha256:"));
    for expected in [
        "skipped vendor (vendored code is skipped by default)",
        "skipped deploy/legacy (excluded by `deploy/legacy` in [pin] exclude)",
        "skipped deploy/app/pod.generated.yaml (excluded by `**/*.generated.yaml` in [pin] exclude)",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
    }
    // Without -v the exclusions are quiet; --check agrees.
    let run = project.images(&["pin", "--check"]);
    run.expect_code(0);
    assert!(!run.stderr.contains("skipped"), "{}", run.stderr);
    // A file named on the command line is read whatever the exclusions say.
    project
        .images(&["pin", "--check", "vendor/github.com/x/y/Dockerfile"])
        .expect_code(1);
}

#[test]
fn pin_exclude_is_checked_like_the_rest_of_images_toml() {
    let (_reg, project) = repository("", &[]);
    let manifest = read(&project, "images.toml");
    project.write_manifest(&format!("{manifest}\n[pin]\nexclude = [\"deploy/[\"]\n"));
    let run = project.images(&["pin"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("images.toml:5:") && run.stderr.contains("deploy/["),
        "{}",
        run.stderr
    );
    let manifest = read(&project, "images.toml").replace("exclude", "exclude-paths");
    project.write_manifest(&manifest);
    let run = project.images(&["pin"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("unknown key `exclude-paths` in `[pin]`"),
        "{}",
        run.stderr
    );
}
