//! `cargo xtask bench`.

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `cargo xtask bench`.
pub fn run(_args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask bench` is not implemented yet")
}
