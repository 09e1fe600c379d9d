//! One module per command.

mod list;
mod lock;
mod verify;

use crate::args::{Args, Command};
use crate::exit::{Exit, Failure};
use crate::output::{init_color, Printer};

/// Runs the command the user asked for.
pub fn run(args: Args) -> Result<Exit, Failure> {
    init_color(args.global.color);
    let printer = Printer {
        format: args.global.format,
        quiet: args.global.quiet,
    };
    match &args.command {
        Command::Lock(lock_args) => lock::run(&args.global, lock_args, printer),
        Command::Verify => verify::run(&args.global, printer),
        Command::List => list::run(&args.global, printer),
    }
}

/// A runtime for the commands that talk to registries.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::new(
                Exit::Unavailable,
                format!("cannot start the async runtime: {e}"),
            )
        })
}
