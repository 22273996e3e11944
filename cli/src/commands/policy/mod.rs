//! `observe policy trace|matrix|validate|whatif|suggest|stage|unstage|promote`.

mod matrix;
mod stage;
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
        PolicyCommand::Stage(args) => stage::stage(global, args),
        PolicyCommand::Unstage => stage::unstage(global),
        PolicyCommand::Promote => stage::promote(global),
    }
}
