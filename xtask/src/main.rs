//! `cargo xtask`: the project's automation. Each subcommand lives in its own module.
//!
//! - `setup`: installs what builds and tests need on a fresh machine (idempotent).
//! - `test`: setup, then every test (privileged ones too when run as root).
//! - `demo`: setup, then the demo on the built-in lab.
//! - `bench`: the benchmarks.
//! - `fuzz`: the fuzz targets, for a bounded time.
//! - `hubble`: the real Hubble CLI against a running agent, flow for flow with `observe`.

mod bench;
mod cmd;
mod demo;
mod demo_nodes;
mod fuzz;
mod hubble;
mod setup;
mod test;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install build and test prerequisites (apt packages, rustup components, bpf-linker).
    Setup(setup::Args),
    /// Run setup, then every test.
    Test(test::Args),
    /// Run setup, then the demo.
    Demo(demo::Args),
    /// Run the benchmarks and print their figures.
    Bench(bench::Args),
    /// Run the fuzz targets for a bounded time.
    Fuzz(fuzz::Args),
    /// Check the real Hubble CLI against a running agent (the demo's by default).
    Hubble(hubble::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Setup(args) => setup::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Fuzz(args) => fuzz::run(&args),
        Command::Hubble(args) => hubble::run(&args),
    }
}
