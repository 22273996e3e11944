//! `observe flows`: Hubble's `observe` flags and output formats (placeholder until the
//! command lands).

use std::process::ExitCode;

use anyhow::Result;

use crate::args::GlobalArgs;

/// Flags of `observe flows`.
#[derive(clap::Args, Debug)]
pub struct FlowsArgs {}

/// Runs `observe flows`.
pub fn run(_global: &GlobalArgs, _args: &FlowsArgs) -> Result<ExitCode> {
    anyhow::bail!("`observe flows` is not implemented yet")
}
