//! What a user's own repository runs in CI: the composite GitHub Action
//! (`action.yml`) and the pre-commit hooks (`.pre-commit-hooks.yaml`). Their
//! shell steps run here the way GitHub's runner and pre-commit run them, with
//! the real binary, against a real registry.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use images_testkit::{Fixture, Kind, Registry};
use serde_json::Value;
use tempfile::TempDir;

use crate::support::{Project, Run};
use crate::yaml;

/// The repository root: what `uses: <this repository>@rev` and a hook
/// `repo:` fetch.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

fn repository_yaml(name: &str) -> Value {
    let path = repository().join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    yaml::parse(&text)
}

/// `scripts/install-images.sh --key` run in `root`.
fn source_key(root: &Path) -> String {
    let output = std::process::Command::new(root.join("scripts/install-images.sh"))
        .arg("--key")
        .output()
        .expect("run install-images.sh --key");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Puts the binary under test where `install-images.sh ROOT` looks, as
/// built from the source whose key is `key`: what a restored cache holds.
fn install_cached(root: &Path, key: &str) {
    std::fs::create_dir_all(root.join("bin")).expect("create bin");
    std::fs::copy(env!("CARGO_BIN_EXE_images"), root.join("bin/images")).expect("copy images");
    std::fs::write(root.join("source-key"), format!("{key}\n")).expect("write source-key");
}

/// A GitHub Actions runner for `action.yml`'s composite steps.
struct Runner {
    temp: TempDir,
}

/// What a run of the action did: one [`Run`] per shell step that ran, up
/// to the first that failed, as the runner stops there.
struct ActionRun {
    steps: Vec<Run>,
    /// The outputs the steps wrote to `$GITHUB_OUTPUT`, `steps.ID.outputs.K`.
    context: HashMap<String, String>,
}

impl ActionRun {
    fn last(&self) -> &Run {
        self.steps.last().expect("a step ran")
    }
}

impl Runner {
    /// A runner whose tool cache already holds this source's build, as
    /// `actions/cache` restores it on every run after the first.
    fn cached() -> Runner {
        let runner = Runner {
            temp: tempfile::tempdir().expect("temp dir"),
        };
        install_cached(
            &runner.temp.path().join("images-bin"),
            &source_key(&repository()),
        );
        runner
    }

    /// Runs the action's steps in `project` with `inputs` (the rest take
    /// their defaults), as `uses: ./` in a workflow would.
    fn run(&self, project: &Project, inputs: &[(&str, &str)]) -> ActionRun {
        let action = repository_yaml("action.yml");
        assert_eq!(action["runs"]["using"], "composite");
        let mut context = HashMap::from([(
            "github.action_path".to_owned(),
            repository().display().to_string(),
        )]);
        let declared = action["inputs"].as_object().expect("inputs");
        for (name, input) in declared {
            let value = input["default"].as_str().unwrap_or_default();
            context.insert(format!("inputs.{name}"), value.to_owned());
        }
        for (name, value) in inputs {
            assert!(
                declared.contains_key(*name),
                "action.yml has no input {name}"
            );
            context.insert(format!("inputs.{name}"), (*value).to_owned());
        }
        let mut path_dirs: Vec<String> = Vec::new();
        let mut steps = Vec::new();
        let all = action["runs"]["steps"].as_array().expect("steps");
        for (index, step) in all.iter().enumerate() {
            if let Some(uses) = step["uses"].as_str() {
                // The cache step: `Runner::cached` restored what it would.
                assert!(uses.starts_with("actions/cache@"), "unexpected {uses}");
                for (_, value) in step["with"].as_object().expect("with") {
                    expand(value.as_str().expect("a string"), &context);
                }
                continue;
            }
            let script = step["run"].as_str().expect("a run step");
            assert!(
                !script.contains("${{"),
                "step {index} pastes an expression into its script; pass it through env"
            );
            assert_eq!(step["shell"], "bash");
            let file = self.temp.path().join(format!("step-{index}.sh"));
            std::fs::write(&file, script).expect("write step");
            let output = self.temp.path().join(format!("output-{index}"));
            let github_path = self.temp.path().join(format!("path-{index}"));
            std::fs::write(&output, "").expect("write GITHUB_OUTPUT");
            std::fs::write(&github_path, "").expect("write GITHUB_PATH");

            // GitHub's own command line for `shell: bash`.
            let mut command = project.isolated("bash");
            command
                .args(["--noprofile", "--norc", "-eo", "pipefail"])
                .arg(&file)
                .env("RUNNER_OS", "Linux")
                .env("RUNNER_TEMP", self.temp.path())
                .env("GITHUB_WORKSPACE", project.path())
                .env("GITHUB_OUTPUT", &output)
                .env("GITHUB_PATH", &github_path);
            let mut path = path_dirs.clone();
            path.push(std::env::var("PATH").unwrap_or_default());
            command.env("PATH", path.join(":"));
            if let Some(env) = step["env"].as_object() {
                for (name, value) in env {
                    command.env(name, expand(value.as_str().expect("a string"), &context));
                }
            }
            if let Some(dir) = step["working-directory"].as_str() {
                command.current_dir(project.path().join(expand(dir, &context)));
            }
            let run = Run::from(command.output().expect("run bash"));
            let id = step["id"].as_str();
            let written = std::fs::read_to_string(&output).expect("read GITHUB_OUTPUT");
            for line in written.lines() {
                let (key, value) = line.split_once('=').expect("key=value");
                let id = id.expect("a step that writes outputs has an id");
                context.insert(format!("steps.{id}.outputs.{key}"), value.to_owned());
            }
            let added = std::fs::read_to_string(&github_path).expect("read GITHUB_PATH");
            path_dirs.splice(0..0, added.lines().rev().map(str::to_owned));
            let failed = run.code != 0;
            steps.push(run);
            if failed {
                break;
            }
        }
        ActionRun { steps, context }
    }
}

/// `text` with each `${{ name }}` replaced from `context`.
#[track_caller]
fn expand(text: &str, context: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed expression") + start;
        let name = rest[start + 3..end].trim();
        let value = context
            .get(name)
            .unwrap_or_else(|| panic!("the runner has no value for {name}"));
        out.push_str(value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A project locking `api` at `acme/api:v1.2.11` from `reg`.
fn locked_project(reg: &Registry) -> Project {
    reg.push(
        "acme/api",
        "v1.2.11",
        &Fixture::new(Kind::OciManifest, "api-good"),
    )
    .expect("push");
    let project = Project::new(&format!(
        "[images]\napi = \"{}/acme/api:v1.2.11\"\n",
        reg.addr()
    ));
    project.images(&["lock"]).expect_code(0);
    project
}

#[test]
fn the_action_verifies_the_lock_and_annotates_a_moved_tag() {
    let reg = Registry::start().expect("start the test registry");
    let project = locked_project(&reg);
    let runner = Runner::cached();

    let clean = runner.run(&project, &[]);
    assert_eq!(clean.steps.len(), 3, "key, install and verify steps ran");
    clean.last().expect_code(0);
    let key = &clean.context["steps.source.outputs.key"];
    assert_eq!(key, &format!("images-Linux-{}", source_key(&repository())));
    assert_eq!(
        clean.context["steps.source.outputs.root"],
        runner.temp.path().join("images-bin").display().to_string()
    );

    reg.push(
        "acme/api",
        "v1.2.11",
        &Fixture::new(Kind::OciManifest, "attacker"),
    )
    .expect("push");
    let moved = runner.run(&project, &[]);
    let run = moved.last();
    run.expect_code(1);
    assert!(
        run.stdout.contains("::error file=images.lock,line="),
        "an annotation on the lock: {}",
        run.stdout
    );
}

#[test]
fn the_action_fails_on_an_out_of_date_lock_before_asking_the_registry() {
    let reg = Registry::start().expect("start the test registry");
    let project = locked_project(&reg);
    let addr = reg.addr();
    drop(reg);
    project.write_manifest(&format!(
        "[images]\napi = \"{addr}/acme/api:v1.2.11\"\nweb = \"{addr}/acme/web:v1\"\n"
    ));
    let run = Runner::cached().run(&project, &[]);
    // `lock --locked` is offline: the registry is gone and the answer is
    // still "out of date" (1), not "could not check" (3).
    let last = run.last();
    last.expect_code(1);
    assert!(
        last.stderr.contains("`--locked` was passed") && last.stderr.contains("web"),
        "{}",
        last.stderr
    );

    let unchecked = Runner::cached().run(&project, &[("check-lock", "false")]);
    // check-lock=false goes straight to verify, which says the same in
    // its own words, as annotations.
    let verified = unchecked.last();
    verified.expect_code(1);
    assert!(!verified.stderr.contains("`--locked` was passed"));
    assert!(
        verified.stdout.contains(
            "::error file=images.toml,line=3,title=images verify%3A lock out of date::web"
        ),
        "{}",
        verified.stdout
    );
}

#[test]
fn an_action_input_cannot_inject_shell() {
    let reg = Registry::start().expect("start the test registry");
    let project = locked_project(&reg);
    let hostile = "x\"; touch pwned; echo \"$(touch pwned2)";
    let run = Runner::cached().run(&project, &[("manifest", hostile)]);
    run.last().expect_code(2);
    assert!(!project.path().join("pwned").exists());
    assert!(!project.path().join("pwned2").exists());
    assert!(
        run.last()
            .stderr
            .contains(&format!("{hostile}: cannot read")),
        "the error names the path as given: {}",
        run.last().stderr
    );
}

#[test]
fn the_installer_builds_once_per_source_revision() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A `cargo` that records its arguments and installs the binary under
    // test where `--root` says: the build itself is cargo's, not ours.
    let bin = dir.path().join("stub-bin");
    std::fs::create_dir_all(&bin).expect("create stub dir");
    let log = dir.path().join("cargo.log");
    let stub = format!(
        "#!/bin/sh\necho \"$*\" >> '{log}'\nwhile [ \"$1\" != --root ]; do shift; done\nmkdir -p \"$2/bin\" && cp '{images}' \"$2/bin/images\"\n",
        log = log.display(),
        images = env!("CARGO_BIN_EXE_images"),
    );
    std::fs::write(bin.join("cargo"), stub).expect("write stub");
    make_executable(&bin.join("cargo"));
    let root = dir.path().join("root");
    let install = || {
        let output = std::process::Command::new(repository().join("scripts/install-images.sh"))
            .arg(&root)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    bin.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .output()
            .expect("run install-images.sh");
        assert!(output.status.success(), "{output:?}");
        std::fs::read_to_string(&log).unwrap_or_default()
    };

    let first = install();
    let crate_path = repository().join("crates/cli");
    assert_eq!(
        first.lines().collect::<Vec<_>>(),
        [format!(
            "install --locked --quiet --path {} --root {} --force",
            crate_path.display(),
            root.display()
        )]
    );
    assert!(root.join("bin/images").exists());
    assert_eq!(
        install().lines().count(),
        1,
        "the same source is not rebuilt"
    );
    std::fs::write(root.join("source-key"), "another revision\n").expect("write key");
    assert_eq!(install().lines().count(), 2, "another source is rebuilt");
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Copies what the installer's source key covers, and the scripts, into
/// `to`: the checkout pre-commit makes of this repository at a `rev`.
fn hook_repository_copy(to: &Path) {
    let from = repository();
    for file in ["Cargo.toml", "Cargo.lock"] {
        std::fs::copy(from.join(file), to.join(file)).expect("copy manifest");
    }
    copy_tree(&from.join("scripts"), &to.join("scripts"));
    for entry in std::fs::read_dir(from.join("crates")).expect("read crates") {
        let krate = entry.expect("entry").path();
        if !krate.join("Cargo.toml").exists() {
            continue;
        }
        let name = krate.file_name().expect("name");
        let into = to.join("crates").join(name);
        copy_tree(&krate.join("src"), &into.join("src"));
        std::fs::copy(krate.join("Cargo.toml"), into.join("Cargo.toml")).expect("copy");
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy file");
        }
    }
}

/// The hooks of `.pre-commit-hooks.yaml` by id, each as the program and
/// arguments pre-commit runs in the user's repository.
fn hooks(checkout: &Path) -> HashMap<String, (PathBuf, Vec<String>, Value)> {
    let hooks = repository_yaml(".pre-commit-hooks.yaml");
    let mut out = HashMap::new();
    for hook in hooks.as_array().expect("a list of hooks") {
        // `script`: the entry is a path in the hook repository; no file
        // names are appended, as both commands look at the whole project.
        assert_eq!(hook["language"], "script");
        assert_eq!(hook["pass_filenames"], "false");
        let entry = hook["entry"].as_str().expect("entry");
        let mut words = entry.split_whitespace();
        let program = checkout.join(words.next().expect("a program"));
        let args = words.map(str::to_owned).collect();
        let id = hook["id"].as_str().expect("id").to_owned();
        out.insert(id, (program, args, hook.clone()));
    }
    out
}

#[test]
fn the_pre_commit_hooks_check_lock_and_pins_offline() {
    let checkout = tempfile::tempdir().expect("temp dir");
    hook_repository_copy(checkout.path());
    install_cached(
        &checkout.path().join(".images-bin"),
        &source_key(checkout.path()),
    );
    let hooks = hooks(checkout.path());
    let mut ids: Vec<&String> = hooks.keys().collect();
    ids.sort();
    assert_eq!(ids, ["images-lock-locked", "images-pin-check"]);

    let files = hooks["images-lock-locked"].2["files"]
        .as_str()
        .expect("files");
    let files = regex::Regex::new(files).expect("files is a regex");
    for (path, matches) in [
        ("images.toml", true),
        ("deploy/images.lock", true),
        ("myimages.toml", false),
        ("images.toml.bak", false),
    ] {
        assert_eq!(files.is_match(path), matches, "{path}");
    }

    let reg = Registry::start().expect("start the test registry");
    let project = locked_project(&reg);
    let addr = reg.addr();
    std::fs::write(
        project.path().join("Dockerfile"),
        format!("FROM {addr}/acme/api:v1.2.11\n"),
    )
    .expect("write Dockerfile");
    // Both hooks run without a registry.
    drop(reg);
    let hook = |id: &str| {
        let (program, args, _) = &hooks[id];
        Run::from(
            project
                .isolated(program)
                .args(args)
                .output()
                .expect("run hook"),
        )
    };

    hook("images-lock-locked").expect_code(0);
    let unpinned = hook("images-pin-check");
    unpinned.expect_code(1);
    assert!(
        unpinned.stdout.contains("+FROM ") && unpinned.stdout.contains("@sha256:"),
        "shows the fix as a diff: {}",
        unpinned.stdout
    );
    project.images(&["pin"]).expect_code(0);
    hook("images-pin-check").expect_code(0);

    project.write_manifest(&format!(
        "[images]\napi = \"{addr}/acme/api:v1.2.11\"\nweb = \"{addr}/acme/web:v1\"\n"
    ));
    let stale = hook("images-lock-locked");
    stale.expect_code(1);
    assert!(stale.stderr.contains("web"), "{}", stale.stderr);
}
