//! `observe tui` (placeholder until the dashboard lands).

use std::process::ExitCode;

use anyhow::Result;

use crate::args::GlobalArgs;

/// Flags of `observe tui`.
#[derive(clap::Args, Debug)]
pub struct TuiArgs {}

/// Runs `observe tui`.
pub fn run(_global: &GlobalArgs, _args: &TuiArgs) -> Result<ExitCode> {
    anyhow::bail!("`observe tui` is not implemented yet")
}
