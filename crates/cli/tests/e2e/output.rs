//! Snapshots of what every command prints, in every format, for success
//! and for each kind of failure. The registry's address is `[REGISTRY]`
//! and the project's temp dir `[ROOT]`; fixtures are deterministic, so the
//! digests are stable. Rewrite with `SNAPSHOTS=overwrite` and review.

use images_testkit::{Fault, FaultProxy, Fixture, Kind, Registry};

use crate::snapshot::assert_snapshot;
use crate::support::{transcript, Project, Run};

/// A project and the addresses to redact from its output; `edit.rs`
/// uses it too.
pub struct Scene {
    pub reg: Registry,
    pub project: Project,
    /// Extra addresses (a fault proxy) that also stand for the registry.
    pub proxies: Vec<String>,
}

impl Scene {
    /// `api` (immutable) and `base` (mutable) pushed and declared.
    pub fn new() -> Scene {
        let reg = Registry::start().expect("start the test registry");
        push(&reg, "acme/api", "v1", Kind::OciIndex, "api");
        push(&reg, "acme/base", "latest", Kind::DockerV2S2, "base");
        let project = Project::new(&format!(
            "[images]\napi = \"{0}/acme/api:v1\"\nbase = {{ image = \"{0}/acme/base:latest\", mutable = true }}\n",
            reg.addr()
        ));
        Scene {
            reg,
            project,
            proxies: Vec::new(),
        }
    }

    /// Runs `images ARGS`, checks the exit code and the snapshot `name`.
    #[track_caller]
    pub fn snap(&self, name: &str, args: &[&str], code: i32) -> Run {
        let run = self.project.images(args);
        let root = self.project.path().display().to_string();
        let addr = self.reg.addr();
        let mut redactions: Vec<(&str, &str)> = vec![(&root, "[ROOT]"), (&addr, "[REGISTRY]")];
        for proxy in &self.proxies {
            redactions.push((proxy, "[REGISTRY]"));
        }
        assert_snapshot(&format!("{name}.txt"), &transcript(args, &run, &redactions));
        run.expect_code(code);
        run
    }

    /// The same command as text, JSON and GitHub annotations.
    #[track_caller]
    fn snap_formats(&self, name: &str, args: &[&str], formats: &[&str], code: i32) {
        for format in formats {
            let mut with_format = args.to_vec();
            with_format.extend(["--format", format]);
            self.snap(&format!("{name}_{format}"), &with_format, code);
        }
    }
}

pub fn push(reg: &Registry, repo: &str, tag: &str, kind: Kind, seed: &str) {
    reg.push(repo, tag, &Fixture::new(kind, seed))
        .expect("push");
}

const ALL: &[&str] = &["text", "json", "github"];

#[test]
fn lock_output() {
    let s = Scene::new();
    s.snap("lock_text", &["lock"], 0);
    s.snap("lock_up_to_date_json", &["lock", "--format", "json"], 0);
    s.project.write_manifest(&format!(
        "[images]\napi = \"{}/acme/api:v1\"\n",
        s.reg.addr()
    ));
    s.snap("lock_locked_out_of_date", &["lock", "--locked"], 1);
    s.snap("lock_json", &["lock", "--format", "json"], 0);
    s.snap(
        "lock_rejects_github_format",
        &["lock", "--format", "github"],
        2,
    );
}

#[test]
fn verify_output_when_all_is_well() {
    let s = Scene::new();
    s.project.images(&["lock"]).expect_code(0);
    s.snap_formats("verify_ok", &["verify"], ALL, 0);
}

#[test]
fn verify_output_when_tags_moved() {
    let s = Scene::new();
    s.project.images(&["lock"]).expect_code(0);
    push(&s.reg, "acme/api", "v1", Kind::OciIndex, "api-attacker");
    push(&s.reg, "acme/base", "latest", Kind::DockerV2S2, "base-2");
    s.snap_formats("verify_tag_moved", &["verify"], ALL, 1);
}

#[test]
fn verify_output_when_an_answer_is_tampered() {
    let reg = Registry::start().expect("start the test registry");
    push(&reg, "acme/api", "v1", Kind::OciManifest, "api");
    let proxy = FaultProxy::start(&reg.addr()).expect("start proxy");
    let project = Project::new(&format!(
        "[images]\napi = \"{}/acme/api:v1\"\n",
        proxy.addr()
    ));
    let s = Scene {
        proxies: vec![proxy.addr()],
        reg,
        project,
    };
    s.project.images(&["lock"]).expect_code(0);
    push(&s.reg, "acme/api", "v1", Kind::OciManifest, "api-2");
    proxy.set(Fault::TamperBody);
    s.snap_formats("verify_tampered", &["verify"], ALL, 1);
}

#[test]
fn verify_output_when_the_lock_is_out_of_date() {
    let s = Scene::new();
    s.project.images(&["lock"]).expect_code(0);
    // `api` changes tag, `base` is dropped, `web` is new: three kinds of stale.
    s.project.write_manifest(&format!(
        "[images]\n# the API\napi = \"{0}/acme/api:v2\"\nweb = \"{0}/acme/web:1\"\n",
        s.reg.addr()
    ));
    s.snap_formats("verify_lock_out_of_date", &["verify"], ALL, 1);
}

#[test]
fn verify_output_when_the_registry_is_down() {
    let mut s = Scene::new();
    s.project.images(&["lock"]).expect_code(0);
    s.reg.stop();
    s.snap_formats(
        "verify_registry_down",
        &["verify", "--timeout", "2"],
        ALL,
        3,
    );
    s.snap(
        "lock_registry_down",
        &["lock", "--update", "--timeout", "2"],
        3,
    );
}

#[test]
fn list_output() {
    let s = Scene::new();
    s.project.images(&["lock"]).expect_code(0);
    // The longest reference is not the registry's, so column widths do not
    // depend on its port.
    s.project.write_manifest(&format!(
        "[images]\napi = \"{0}/acme/api:v1\"\nbase = {{ image = \"{0}/acme/base:latest\", mutable = true }}\nlong = \"example-org/a-rather-long-repository-name-for-alignment:1.0\"\n",
        s.reg.addr()
    ));
    s.snap_formats("list", &["list"], &["text", "json"], 0);
    s.snap(
        "list_rejects_github_format",
        &["list", "--format", "github"],
        2,
    );
}

#[test]
fn bad_input_output() {
    let s = Scene::new();
    s.project
        .write_manifest("[images]\nweb = \"nginx:1.27\"\nbad = \"Not A Reference!\"\n");
    s.snap("verify_invalid_reference", &["verify"], 2);
    s.snap(
        "list_invalid_reference_json",
        &["list", "--format", "json"],
        2,
    );
    s.project.write_manifest("[images]\nweb = \"nginx:1.27\"\n");
    s.snap("verify_without_lock", &["verify", "--format", "github"], 2);
}

#[test]
fn completions_bash_mentions_every_command() {
    let project = Project::new("[images]\n");
    let run = project.images(&["completions", "bash"]);
    run.expect_code(0);
    for command in ["verify", "lock", "add", "remove", "completions"] {
        assert!(
            run.stdout.contains(command),
            "no `{command}` in:\n{}",
            run.stdout
        );
    }
    project
        .images(&["completions", "bash", "--format", "json"])
        .expect_code(2);
}

/// The formats `--help` of `images COMMAND` lists for `--format`.
fn formats_in_help(help: &str) -> Vec<String> {
    let Some(at) = help.find("--format <FORMAT>") else {
        return Vec::new();
    };
    let Some(values) = help[at..].find("Possible values:") else {
        return Vec::new();
    };
    help[at + values..]
        .lines()
        .skip(1)
        .map_while(|line| line.trim().strip_prefix("- "))
        .filter_map(|item| item.split(':').next())
        .map(str::to_owned)
        .collect()
}

/// Each command's `--format` has only the formats the command prints:
/// clap refuses any other (exit 2, naming those there are) before the
/// command runs, and `--help` lists the same.
#[test]
fn each_command_offers_only_its_formats() {
    let project = Project::new("[images]\n");
    let cases: &[(&[&str], &str, &[&str])] = &[
        (
            &["verify"],
            "markdown",
            &["text", "json", "github", "sarif"],
        ),
        (
            &["pin", "--check"],
            "markdown",
            &["text", "json", "github", "sarif"],
        ),
        (&["diff"], "github", &["text", "json", "markdown"]),
        (&["lock"], "github", &["text", "json"]),
        (&["list"], "markdown", &["text", "json"]),
        (&["add", "web", "nginx:1.27"], "github", &["text", "json"]),
        (&["remove", "web"], "markdown", &["text", "json"]),
        (&["init"], "github", &["text", "json"]),
        (&["outdated"], "markdown", &["text", "json"]),
        (&["completions", "bash"], "json", &["text"]),
    ];
    for (args, refused, offered) in cases {
        let run = project.images(&[args, &["--format", refused][..]].concat());
        run.expect_code(2);
        assert_eq!(run.stdout, "", "{args:?} --format {refused}");
        for needle in [
            format!("error: invalid value '{refused}' for '--format <FORMAT>'"),
            format!("[possible values: {}]", offered.join(", ")),
        ] {
            assert!(
                run.stderr.contains(&needle),
                "{args:?} --format {refused}: no `{needle}` in:\n{}",
                run.stderr
            );
        }
        let help = project.images(&[args[0], "--help"]);
        help.expect_code(0);
        assert_eq!(formats_in_help(&help.stdout), *offered, "{}", help.stdout);
    }
    // Refused before anything ran: not even `init` or `lock` wrote a file.
    assert!(!project.lock_path().exists());
    assert_eq!(
        std::fs::read_to_string(project.path().join("images.toml")).expect("read images.toml"),
        "[images]\n"
    );
}

#[test]
fn help_lists_examples_and_exit_codes() {
    let project = Project::new("[images]\n");
    let run = project.images(&["--help"]);
    run.expect_code(0);
    for needle in [
        "images add web nginx:1.27",
        "images remove web",
        "images verify --format github",
        "images completions bash",
        "Exit codes:",
        "3  could not check",
    ] {
        assert!(
            run.stdout.contains(needle),
            "no `{needle}` in:\n{}",
            run.stdout
        );
    }
}

#[test]
fn progress_is_hidden_when_stderr_is_not_a_terminal() {
    let reg = Registry::start().expect("start the test registry");
    let mut manifest = String::from("[images]\n");
    for i in 0..8 {
        push(
            &reg,
            &format!("acme/app{i}"),
            "v1",
            Kind::OciManifest,
            &format!("app{i}"),
        );
        manifest.push_str(&format!("app{i} = \"{}/acme/app{i}:v1\"\n", reg.addr()));
    }
    let project = Project::new(&manifest);
    for args in [&["lock"][..], &["verify"][..]] {
        let run = project.images(args);
        run.expect_code(0);
        assert!(
            !run.stderr.contains('\x1b') && !run.stderr.contains("/8"),
            "no progress bar on a pipe:\n{}",
            run.stderr
        );
    }
}

#[test]
fn init_and_outdated_json_output() {
    let s = Scene::new();
    push(
        &s.reg,
        "acme/nginx",
        "1.27.0",
        Kind::OciManifest,
        "nginx-1.27.0",
    );
    push(
        &s.reg,
        "acme/nginx",
        "1.27.3",
        Kind::OciManifest,
        "nginx-1.27.3",
    );
    push(
        &s.reg,
        "acme/nginx",
        "1.28.1",
        Kind::OciManifest,
        "nginx-1.28.1",
    );
    // `init` in a repository without images.toml.
    std::fs::remove_file(s.project.path().join("images.toml")).expect("remove images.toml");
    std::fs::write(
        s.project.path().join("Dockerfile"),
        format!("FROM {}/acme/api:v1\n", s.reg.addr()),
    )
    .expect("write Dockerfile");
    s.snap("init_json", &["init", "--format", "json"], 0);

    s.project.write_manifest(&format!(
        "[images]\nproxy = {{ image = \"{}/acme/nginx\", version = \"~1.27\" }}\n",
        s.reg.addr()
    ));
    s.project.images(&["lock", "--update"]).expect_code(0);
    s.snap("outdated_json", &["outdated", "--format", "json"], 0);
}

#[test]
fn colour_follows_no_color_clicolor_force_and_the_color_flag() {
    // Any error will do: `list` without an images.toml.
    let project = Project::new("");
    std::fs::remove_file(project.path().join("images.toml")).expect("remove images.toml");
    let coloured = |flags: &[&str], env: &[(&str, Option<&str>)]| {
        let mut args = vec!["list"];
        args.extend(flags);
        let mut command = project.command(&args);
        for (name, value) in env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let run = Run::from(command.output().expect("run images"));
        run.expect_code(2);
        assert!(run.stderr.contains("error:"), "{}", run.stderr);
        run.stderr.contains('\x1b')
    };
    // stderr is a pipe here, so `auto` is off unless forced.
    assert!(!coloured(&[], &[("NO_COLOR", None)]));
    assert!(coloured(
        &[],
        &[("NO_COLOR", None), ("CLICOLOR_FORCE", Some("1"))]
    ));
    assert!(
        !coloured(
            &[],
            &[("NO_COLOR", Some("1")), ("CLICOLOR_FORCE", Some("1"))]
        ),
        "NO_COLOR wins over CLICOLOR_FORCE"
    );
    assert!(
        coloured(&["--color", "always"], &[("NO_COLOR", Some("1"))]),
        "the flag wins over the environment"
    );
    assert!(!coloured(
        &["--color", "never"],
        &[("NO_COLOR", None), ("CLICOLOR_FORCE", Some("1"))]
    ));
}

#[test]
fn pin_json_output() {
    let s = Scene::new();
    s.project.images(&["lock"]).expect_code(0);
    let addr = s.reg.addr();
    let write = |path: &str, text: String| {
        let path = s.project.path().join(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create the fixture's directory");
        }
        std::fs::write(path, text).expect("write a fixture file");
    };
    write(
        "Dockerfile",
        format!("FROM {addr}/acme/api:v1\nFROM {addr}/acme/other:v2\n"),
    );
    write(
        "deploy/app.yaml",
        format!("spec:\n  containers:\n    - image: {addr}/acme/base:latest\n"),
    );
    write(
        "vendor/lib/Dockerfile",
        format!("FROM {addr}/acme/api:v1\n"),
    );
    write("broken/compose.yaml", "services: [\n".to_string());
    s.snap(
        "pin_check_json",
        &["pin", "--check", "--diff", "--format", "json", "-v"],
        1,
    );
    s.snap(
        "pin_discover_json",
        &["pin", "--discover", "--format", "json"],
        2,
    );
    s.snap("pin_json", &["pin", "--format", "json"], 2);
}
