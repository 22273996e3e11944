//! Command dispatch: each command is glue between parsed arguments, the library and the
//! printers.

pub mod apply;
pub mod completion;
pub mod delete;
pub mod flows;
pub mod get;
pub mod list;
mod policy;
pub mod status;
pub mod tui;

use std::process::ExitCode;

use anyhow::Result;

use crate::args::{Cli, Command};

/// Runs the command; `matches` are the command line's (`observe flows` reads the order
/// of its filter flags from them).
pub fn run(cli: Cli, matches: &clap::ArgMatches) -> Result<ExitCode> {
    let global = &cli.global;
    match &cli.command {
        Command::Policy(cmd) => policy::run(global, cmd),
        Command::Apply(args) => apply::run(global, args),
        Command::Delete(args) => delete::run(global, args),
        Command::Get(args) => get::run(global, args),
        Command::Flows(args) => flows::run(global, args, matches.subcommand_matches("flows")),
        Command::Status(args) => status::run(global, args),
        Command::List(cmd) => list::run(global, cmd),
        Command::Tui(args) => tui::run(global, args),
        Command::Completion(args) => completion::run(args),
        Command::Man => completion::man(),
    }
}
