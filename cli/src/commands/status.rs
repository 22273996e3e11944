//! `observe status` (placeholder until the command lands).

use std::process::ExitCode;

use anyhow::Result;

use crate::args::GlobalArgs;

/// Flags of `observe status`.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {}

/// Runs `observe status`.
pub fn run(_global: &GlobalArgs, _args: &StatusArgs) -> Result<ExitCode> {
    anyhow::bail!("`observe status` is not implemented yet")
}
