//! `cargo xtask setup`.

/// Options of `cargo xtask setup`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `cargo xtask setup`.
pub fn run(_args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask setup` is not implemented yet")
}
