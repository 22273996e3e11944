//! `observe`: the command-line client.
//!
//! `main` only maps the outcome to an exit code: errors print one line (plus causes) on
//! stderr and exit 1; a closed pipe (`observe ... | head`) exits 0 quietly, as Unix tools
//! do.

mod args;
mod commands;
mod config;
mod connect;
mod duration;
mod manifests;
mod output;

use std::process::ExitCode;

fn main() -> ExitCode {
    let (cli, matches) = args::parse_or_exit();
    match commands::run(cli, &matches) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
