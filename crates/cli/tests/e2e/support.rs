//! Running the `images` binary in a scratch project.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use images_lockfile::Lockfile;
use tempfile::TempDir;

/// A scratch directory holding an images.toml, where `images` runs.
pub struct Project {
    dir: TempDir,
    /// An empty Docker config dir, so the developer's own credentials never leak in.
    docker_config: TempDir,
}

/// What one run of `images` did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

impl Project {
    /// A project whose images.toml has this content.
    pub fn new(manifest: &str) -> Project {
        let project = Project {
            dir: tempfile::tempdir().expect("temp dir"),
            docker_config: tempfile::tempdir().expect("temp dir"),
        };
        project.write_manifest(manifest);
        project
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The `DOCKER_CONFIG` directory `images` runs with (empty at first):
    /// write a `config.json` there to give it credentials.
    pub fn docker_config_dir(&self) -> &Path {
        self.docker_config.path()
    }

    pub fn lock_path(&self) -> PathBuf {
        self.dir.path().join("images.lock")
    }

    pub fn write_manifest(&self, text: &str) {
        std::fs::write(self.dir.path().join("images.toml"), text).expect("write images.toml");
    }

    /// The raw bytes of images.lock (empty when there is none).
    pub fn lock_bytes(&self) -> Vec<u8> {
        std::fs::read(self.lock_path()).unwrap_or_default()
    }

    /// images.lock, parsed by the library.
    pub fn lock(&self) -> Lockfile {
        let text = std::fs::read_to_string(self.lock_path()).expect("read images.lock");
        Lockfile::parse(&text, &self.lock_path()).expect("images.lock parses")
    }

    /// Runs `images ARGS` in the project directory.
    pub fn images(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("run images"))
    }

    /// The command [`Project::images`] runs, for a test that must spawn
    /// it and act while it runs (interrupt it, watch its memory).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = self.isolated(env!("CARGO_BIN_EXE_images"));
        command.args(args);
        command
    }

    /// `program` run in the project directory with the environment every
    /// `images` run of the tests gets, for a script that runs `images`
    /// itself (the GitHub Action's steps, the pre-commit hooks).
    pub fn isolated(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(self.dir.path())
            .env("DOCKER_CONFIG", self.docker_config.path())
            .env(
                "REGISTRY_AUTH_FILE",
                self.docker_config.path().join("auth.json"),
            )
            // Nothing of the developer's own credentials or trust roots.
            .env("XDG_CONFIG_HOME", self.docker_config.path())
            .env("XDG_RUNTIME_DIR", self.docker_config.path())
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG");
        command
    }
}

/// A run as a snapshot: the command, exit code, stdout and stderr, with
/// `redactions` applied (the registry's address as `[REGISTRY]`, the
/// project's temp dir as `[ROOT]`).
pub fn transcript(args: &[&str], run: &Run, redactions: &[(&str, &str)]) -> String {
    let text = format!(
        "$ images {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        run.code,
        run.stdout,
        run.stderr
    );
    crate::snapshot::redact(&text, redactions)
}
