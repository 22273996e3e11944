//! `cargo xtask test`.

/// Options of `cargo xtask test`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `cargo xtask test`.
pub fn run(_args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask test` is not implemented yet")
}
