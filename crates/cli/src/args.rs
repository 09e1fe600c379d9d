//! Command-line flags, each defined once with its help text beside it.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Examples:
  images init                          declare and lock the images this repository deploys
  images add web nginx:1.27            add an image to images.toml and lock it
  images lock                          resolve new and changed images into images.lock
  images lock --locked                 CI: fail if images.lock is out of date
  images verify                        check every tag still names its locked digest
  images verify --format github        the same, as GitHub Actions annotations
  images list --format json            declared images, digests and status (offline)
  images diff                          review images.lock changes against HEAD
  images remove web                    drop an image from images.toml and images.lock
  images completions bash              print a shell completion script

Exit codes:
  0  all good
  1  drift found (verify), tampering found, or lock out of date (--locked)
  2  bad input: usage, malformed images.toml or images.lock, invalid reference,
     a --format the command does not support
  3  could not check: network, TLS, auth or registry error, or a file or
     stdout that could not be written
  Several at once: drift (1) wins, then bad input (2), then 3.
  129, 130, 143  stopped by SIGHUP, Ctrl-C or SIGTERM while `lock` resolved;
     images.lock was not changed";

/// Pin container images to content digests, the way Cargo.lock pins crates.
#[derive(Debug, Parser)]
#[command(name = "images", version, about, after_help = EXIT_CODES)]
pub struct Args {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, ClapArgs)]
pub struct Global {
    /// Path to images.toml (default: found by walking up from the current directory)
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest: Option<PathBuf>,
    /// Print only errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More logging on stderr (-v, -vv)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to use colour (never with NO_COLOR set)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Requests in flight at once
    #[arg(long, global = true, default_value_t = 16, value_name = "N")]
    pub jobs: usize,
    /// Seconds one registry request may take
    #[arg(long, global = true, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
}

/// How `lock`, `list`, `add`, `remove`, `init` and `outdated` print their
/// report. Each command's `--format` names only the formats it has, so
/// clap refuses any other before the command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// For people
    Text,
    /// A stable JSON document on stdout
    Json,
}

/// How `images verify` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    /// For people
    Text,
    /// A stable JSON document on stdout
    Json,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`) on stdout
    Github,
    /// A SARIF 2.1.0 log on stdout, for code scanning (each finding at its images.lock line)
    Sarif,
}

/// How `images pin` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PinFormat {
    /// For people
    Text,
    /// A stable JSON document on stdout
    Json,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`) on stdout, with --check
    Github,
    /// A SARIF 2.1.0 log on stdout, for code scanning (needs --check)
    Sarif,
}

/// How `images diff` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// For people
    Text,
    /// A stable JSON document on stdout
    Json,
    /// Markdown for a pull-request comment
    Markdown,
}

/// What `images completions` prints: the script, which has no other form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionsFormat {
    /// The completion script
    Text,
}

/// Colour on the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR, CLICOLOR=0 or TERM=dumb is set; CLICOLOR_FORCE=1 forces it
    Auto,
    /// Always
    Always,
    /// Never
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start images.toml from the images the repository's files deploy, and lock it
    #[command(after_help = INIT_HELP)]
    Init(InitArgs),
    /// Resolve new and changed images in images.toml and record their digests in images.lock
    #[command(
        after_help = "Examples:\n  images lock\n  images lock --update web api\n  images lock --locked   # CI: fail if images.lock is out of date"
    )]
    Lock(LockArgs),
    /// Check that every tag still points at its locked digest (the CI gate)
    #[command(
        after_help = "Examples:\n  images verify\n  images verify --format json\n  images verify --format github   # annotations on the images.lock line in GitHub Actions\n  images verify --format sarif > images.sarif   # for code scanning (upload-sarif)"
    )]
    Verify(VerifyArgs),
    /// List declared images with their locked digest and status (offline)
    #[command(after_help = "Examples:\n  images list\n  images list --format json")]
    List(ListArgs),
    /// Show what changed between two locks: working tree against HEAD, two revisions or two files
    #[command(after_help = DIFF_HELP)]
    Diff(DiffArgs),
    /// Add an image to images.toml (comments and order kept) and lock it
    #[command(
        after_help = "Examples:\n  images add web nginx:1.27\n  images add base alpine:latest --mutable\n  images add db postgres:16 --platform linux/amd64 --platform linux/arm64\n\nCreates images.toml in the current directory when none is found."
    )]
    Add(AddArgs),
    /// Remove an image from images.toml and images.lock (offline)
    #[command(after_help = "Examples:\n  images remove web")]
    Remove(RemoveArgs),
    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  images completions bash > ~/.local/share/bash-completion/completions/images\n  images completions zsh > ~/.zfunc/_images\n  images completions fish > ~/.config/fish/completions/images.fish"
    )]
    Completions(CompletionsArgs),
    /// Write locked digests into Dockerfiles, compose files, Kubernetes manifests and workflows (offline)
    #[command(after_help = PIN_HELP)]
    Pin(PinArgs),
    /// For entries with a `version` requirement: the locked tag, the newest allowed, the newest there is
    #[command(
        after_help = "Examples:\n  images outdated\n  images outdated --exit-code   # CI: exit 1 when an entry could move\n  images outdated --format json\n\nLike `cargo outdated`: COMPATIBLE is the newest tag the requirement allows,\nLATEST the newest release tag the entry's tag filter accepts, whatever the\nrequirement. `images lock --update NAME` moves an entry to COMPATIBLE."
    )]
    Outdated(OutdatedArgs),
}

const INIT_HELP: &str = "\
Examples:
  images init                          search the current directory
  images init Dockerfile deploy/       only these files and directories

Finds the image references `images pin --discover` finds (Dockerfiles, compose
files, Kubernetes manifests, workflows), writes images.toml with one entry per
image (named after the repository's last path component, a comment saying
where it was found) and locks it. Then `images pin` writes the digests into
the files and `images verify` checks them in CI. With nothing found, an empty
images.toml is written (exit 0), as `cargo init` starts an empty package.

Exit status: 0 written and locked; 2 images.toml (or images.lock) already
exists (use `images add`), a file could not be read, or a tag does not exist;
3 a registry could not be reached. On any error nothing is written.";

/// Arguments of `images init`.
#[derive(Debug, ClapArgs)]
pub struct InitArgs {
    /// Files or directories to read (default: the usual files under the current directory)
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format for what the command reports
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// Flags of `images outdated`.
#[derive(Debug, ClapArgs)]
pub struct OutdatedArgs {
    /// Exit 1 when an entry's locked tag is older than the newest it allows
    #[arg(long)]
    pub exit_code: bool,
    /// Output format for what the command reports
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

const PIN_HELP: &str = "\
Examples:
  images pin                           pin every reference found under the directory of images.toml
  images pin Dockerfile deploy/        only these files and directories
  images pin --check                   CI: exit 1 listing file:line of each reference not pinned
  images pin --check --format github   the same, as GitHub Actions annotations
  images pin --check --format sarif    the same, as a SARIF 2.1.0 log for code scanning
  images pin --discover                images.toml lines for references it does not declare
  images pin --check --diff            CI: also print the unified diff `images pin` would apply

Reads Dockerfile, Dockerfile.*, *.dockerfile, compose.yaml, docker-compose*.yml,
.github/workflows/*.yml and YAML files with Kubernetes' apiVersion and kind,
skipping .git, target, node_modules, vendor, what git ignores and what
`[pin] exclude` in images.toml names (-v lists what was skipped). A manifest
that does not parse as YAML and holds `{{ }}` is skipped as a template, and
said so. Only the image text is replaced; every other byte of a file is kept.
`--diff` prints what `pin` would change as a unified diff on stdout (`git
apply` takes it) and writes nothing; with `--check` the exit status is
--check's, without it pin's.

Exit status: 0 all pinned; 1 a reference is not pinned (--check) or its lock
entry is out of date; 2 a file or directory could not be read or parsed (it
is left untouched), a reference two images.toml entries could claim, or bad
images.toml/images.lock.";

/// Arguments of `images pin`.
#[derive(Debug, ClapArgs)]
pub struct PinArgs {
    /// Files or directories to read (default: the usual files under the directory of images.toml)
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Change nothing; exit 1 listing each reference not pinned to its locked digest
    #[arg(long)]
    pub check: bool,
    /// List references images.toml does not declare, as lines to paste into it
    #[arg(long, conflicts_with = "check")]
    pub discover: bool,
    /// Write nothing; print the unified diff of what `pin` would change
    #[arg(long, conflicts_with = "discover")]
    pub diff: bool,
    /// Output format for what the command reports
    // SARIF holds findings, which only `--check` has.
    #[arg(long, value_enum, default_value_t = PinFormat::Text, requires_if("sarif", "check"))]
    pub format: PinFormat,
}

const DIFF_HELP: &str = "\
Examples:
  images diff                          images.lock in the working tree against HEAD
  images diff main HEAD                two revisions (read through git, no checkout)
  images diff old.lock new.lock        two files
  images diff --format markdown        a pull-request comment
  images diff --textconv images.lock   the line form `git diff` uses (see README)

An argument that is an existing file is read as a lock file; anything else is
a git revision. One argument is compared with the working tree's images.lock.

Exit status: 0 whether or not the locks differ; 2 when a lock is malformed
(the message names which side), a revision does not exist, or the default
mode runs outside a git repository.";

/// Arguments of `images diff`.
#[derive(Debug, ClapArgs)]
pub struct DiffArgs {
    /// Old side: a git revision or a lock file (default: HEAD)
    pub old: Option<String>,
    /// New side: a git revision or a lock file (default: the working tree's images.lock)
    pub new: Option<String>,
    /// Show digests in full instead of shortened
    #[arg(long)]
    pub full: bool,
    /// Print one lock in a stable line-oriented form, for git's `diff.images.textconv`
    #[arg(long, value_name = "FILE", conflicts_with_all = ["old", "new"])]
    pub textconv: Option<PathBuf>,
    /// Output format for what the command reports
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

/// Flags of `images lock`.
#[derive(Debug, ClapArgs)]
pub struct LockArgs {
    /// Re-resolve these images even when unchanged (all when no name is given)
    #[arg(long, num_args = 0.., value_name = "NAME")]
    pub update: Option<Vec<String>>,
    /// Fail without writing if images.lock would change, showing the diff it refused to write
    #[arg(long)]
    pub locked: bool,
    /// Output format for what the command reports
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// Arguments of `images add`.
#[derive(Debug, ClapArgs)]
pub struct AddArgs {
    /// Name of the entry in `[images]` (a TOML key such as `web` or `api-v2`)
    pub name: String,
    /// Image reference, e.g. `nginx:1.27` or `ghcr.io/acme/api:v1.2.11`
    #[arg(value_name = "REF")]
    pub reference: String,
    /// The tag is expected to move: `verify` only warns
    #[arg(long)]
    pub mutable: bool,
    /// Platform to record, e.g. `linux/amd64` (repeatable; default: all)
    #[arg(long = "platform", value_name = "PLATFORM")]
    pub platforms: Vec<String>,
    /// Lock the newest tag this Cargo-style requirement allows, e.g. `~1.27`
    /// (REF is then a repository without a tag, like `nginx`)
    #[arg(long, value_name = "REQ")]
    pub version: Option<String>,
    /// With --version: the tags that are versions, a regex whose first group
    /// is the version (default `^v?(\d+\.\d+\.\d+)$`)
    #[arg(long, value_name = "REGEX", requires = "version")]
    pub tags: Option<String>,
    /// Output format for what the command reports
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// Arguments of `images remove`.
#[derive(Debug, ClapArgs)]
pub struct RemoveArgs {
    /// Name of the entry in `[images]`
    pub name: String,
    /// Output format for what the command reports
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// Arguments of `images completions`.
#[derive(Debug, ClapArgs)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
    /// Output format for what the command reports
    #[arg(long, value_enum, default_value_t = CompletionsFormat::Text)]
    pub format: CompletionsFormat,
}

/// Flags of `images verify`.
#[derive(Debug, ClapArgs)]
pub struct VerifyArgs {
    /// Output format for what the command reports
    #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
    pub format: VerifyFormat,
}

/// Flags of `images list`.
#[derive(Debug, ClapArgs)]
pub struct ListArgs {
    /// Output format for what the command reports
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

impl Command {
    /// Whether the command prints its report as one JSON document
    /// (`--format json`).
    pub fn json(&self) -> bool {
        match self {
            Command::Init(InitArgs { format, .. })
            | Command::Lock(LockArgs { format, .. })
            | Command::List(ListArgs { format })
            | Command::Add(AddArgs { format, .. })
            | Command::Remove(RemoveArgs { format, .. })
            | Command::Outdated(OutdatedArgs { format, .. }) => *format == ReportFormat::Json,
            Command::Verify(args) => args.format == VerifyFormat::Json,
            Command::Diff(args) => args.format == DiffFormat::Json,
            Command::Pin(args) => args.format == PinFormat::Json,
            Command::Completions(_) => false,
        }
    }
}
