//! `observe`: the command-line client.
//!
//! `main` parses the arguments, applies the config file (the one place it is read), runs
//! the command and maps the outcome to an exit code: errors print one line (plus causes)
//! on stderr and exit 1 (2 for a bad command line); a closed pipe (`observe ... | head`)
//! exits 0 quietly, as Unix tools do.

mod args;
mod commands;
mod config;
mod connect;
mod manifests;
mod output;
mod suggest;

use std::process::ExitCode;

fn main() -> ExitCode {
    let (cli, matches) = match args::parse_from(std::env::args_os()) {
        Ok(parsed) => parsed,
        Err(e) => return usage(&e),
    };
    match run(cli, &matches) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The config file fills the global flags the command line left unset (for the commands
/// that talk to the agent), then the command runs.
fn run(mut cli: args::Cli, matches: &clap::ArgMatches) -> anyhow::Result<ExitCode> {
    if cli.command.uses_agent() {
        config::apply_file(&mut cli.global, matches)?;
    }
    commands::run(cli, matches)
}

/// Help and version go to stdout (exit 0); a parse error is one line on stderr (exit 2),
/// as every other error of `observe` is.
fn usage(e: &clap::Error) -> ExitCode {
    if !e.use_stderr() {
        e.exit();
    }
    eprintln!("Error: {}", observe_flags::one_line(&e.to_string()));
    ExitCode::from(2)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
