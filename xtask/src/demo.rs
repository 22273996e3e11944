//! `cargo xtask demo`.

/// Options of `cargo xtask demo`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `cargo xtask demo`.
pub fn run(_args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask demo` is not implemented yet")
}
