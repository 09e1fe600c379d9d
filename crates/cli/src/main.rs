//! The `images` command: pin container images to content digests.

mod args;
mod commands;
mod excerpt;
mod exit;
mod git;
mod github;
mod hints;
mod interrupt;
mod manifest_file;
mod output;
mod paths;
mod pin;
mod progress;
mod project;
mod project_lock;
mod sarif;
mod text_diff;
mod untrusted;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = <args::Args as clap::Parser>::parse();
    output::init_tracing(args.global.verbose, args.global.quiet);
    exit::finish(commands::run(args))
}
