//! `observe policy trace|matrix|validate|whatif|suggest`.

mod matrix;
mod suggest;
mod trace;
mod validate;
mod whatif;

use std::process::ExitCode;

use anyhow::Result;

use crate::args::{GlobalArgs, PolicyCommand};

/// Runs a policy command.
pub fn run(global: &GlobalArgs, cmd: &PolicyCommand) -> Result<ExitCode> {
    match cmd {
        PolicyCommand::Trace(args) => trace::run(global, args),
        PolicyCommand::Matrix(args) => matrix::run(args),
        PolicyCommand::Validate(args) => validate::run(args),
        PolicyCommand::Whatif(args) => whatif::run(global, args),
        PolicyCommand::Suggest(args) => suggest::run(global, args),
    }
}
