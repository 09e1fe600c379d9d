//! `images completions SHELL`: a completion script on stdout, generated
//! from the same clap definitions as `--help`, so it never falls behind.

use clap::CommandFactory;

use crate::args::{Args, CompletionsArgs};
use crate::exit::{Exit, Failure};
use crate::output::write_stdout;

pub fn run(args: &CompletionsArgs) -> Result<Exit, Failure> {
    let mut command = Args::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "images", &mut script);
    write_stdout(&String::from_utf8_lossy(&script));
    Ok(Exit::Ok)
}
