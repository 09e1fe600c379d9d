//! One module per command.

mod add;
mod completions;
mod diff;
mod init;
mod list;
mod lock;
mod outdated;
mod pin;
mod remove;
mod verify;

use crate::args::{Args, Command};
use crate::exit::{Exit, Failure};
use crate::output::{init_color, Printer};

/// Runs the command the user asked for.
pub fn run(args: Args) -> Result<Exit, Failure> {
    // The commands that write catch signals from the start, so none can
    // land between two steps of a write (see `interrupt`).
    if matches!(
        args.command,
        Command::Lock(_) | Command::Add(_) | Command::Remove(_) | Command::Init(_)
    ) {
        crate::interrupt::catch_signals();
    }
    init_color(args.global.color);
    let printer = Printer {
        json: args.command.json(),
        quiet: args.global.quiet,
    };
    match &args.command {
        Command::Init(init_args) => init::run(&args.global, init_args, printer),
        Command::Lock(lock_args) => lock::run(&args.global, lock_args, printer),
        Command::Verify(verify_args) => verify::run(&args.global, verify_args, printer),
        Command::List(_) => list::run(&args.global, printer),
        Command::Diff(diff_args) => diff::run(&args.global, diff_args, printer),
        Command::Add(add_args) => add::run(&args.global, add_args, printer),
        Command::Remove(remove_args) => remove::run(&args.global, remove_args, printer),
        Command::Completions(shell) => completions::run(shell),
        Command::Pin(pin_args) => pin::run(&args.global, pin_args, printer),
        Command::Outdated(outdated_args) => outdated::run(&args.global, outdated_args, printer),
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
