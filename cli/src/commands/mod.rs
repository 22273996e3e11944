//! Command dispatch: each command is glue between parsed arguments, the library and the
//! printers.

mod policy;

use std::process::ExitCode;

use anyhow::Result;

use crate::args::{Cli, Command};

/// Runs the command; the exit code distinguishes findings (e.g. a denied trace) only where
/// documented.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Policy(cmd) => policy::run(cmd),
    }
}
