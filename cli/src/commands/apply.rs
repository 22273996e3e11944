//! `observe apply -f FILE [--audit] [--force]`: send manifests to the agent, which applies
//! them atomically (with `--audit`, their policies in audit mode; with `--force`, even a
//! host policy that would cut an agent from its control traffic).

use std::process::ExitCode;

use anyhow::{Context, Result};
use enforcer::manifest;
use observe_proto::control::control_client::ControlClient;
use observe_proto::control::{ApplyRequest, Manifest};

use crate::args::GlobalArgs;
use crate::connect;

/// Flags of `observe apply`.
#[derive(clap::Args, Debug)]
pub struct ApplyArgs {
    /// Manifest file, directory (every *.yaml and *.yml in it) or `-` for stdin.
    /// Repeatable. Example: -f examples/
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub files: Vec<String>,
    /// Apply the policies in audit mode (as the annotation observe.io/mode: audit does):
    /// what they would deny passes and is reported with verdict AUDIT.
    #[arg(long)]
    pub audit: bool,
    /// Apply even if a host policy would cut an agent from its control traffic (its
    /// kvstore, the clients of its TCP listener), which is otherwise refused.
    #[arg(long)]
    pub force: bool,
}

/// Reads `-f` inputs into request manifests.
pub fn read_manifests(files: &[String]) -> Result<Vec<Manifest>> {
    let inputs = manifest::read_inputs(files).context("cannot read manifests")?;
    Ok(inputs
        .into_iter()
        .map(|i| Manifest {
            name: i.name,
            text: i.text,
        })
        .collect())
}

/// Runs `observe apply`.
pub fn run(global: &GlobalArgs, args: &ApplyArgs) -> Result<ExitCode> {
    let manifests = read_manifests(&args.files)?;
    connect::block_on(async {
        let mut client = ControlClient::new(connect::channel(global).await?);
        match client
            .apply(connect::request(
                global,
                ApplyRequest {
                    manifests,
                    audit: args.audit,
                    force: args.force,
                },
            ))
            .await
        {
            Ok(resp) => {
                let resp = resp.into_inner();
                Ok(accepted(&resp.warnings, &resp.results))
            }
            Err(status) => rejected(status, global),
        }
    })
}

/// Prints an accepted request's warnings (stderr) and result lines (stdout).
pub fn accepted(warnings: &[String], results: &[String]) -> ExitCode {
    for w in warnings {
        eprintln!("{w}");
    }
    for r in results {
        println!("{r}");
    }
    ExitCode::SUCCESS
}

/// Prints a rejected request's message (every diagnostic, one per line) and fails.
pub fn rejected(status: tonic::Status, global: &GlobalArgs) -> Result<ExitCode> {
    if let Some(err) = connect::timed_out(&status, global) {
        return Err(err);
    }
    if status.code() == tonic::Code::InvalidArgument {
        eprintln!("{}", status.message());
        return Ok(ExitCode::FAILURE);
    }
    Err(anyhow::anyhow!("{}: {}", status.code(), status.message()))
}
