//! `cargo xtask fuzz`.

/// Options of `cargo xtask fuzz`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `cargo xtask fuzz`.
pub fn run(_args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask fuzz` is not implemented yet")
}
