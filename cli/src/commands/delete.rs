//! `observe delete -f FILE` and `observe delete policies --all`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use observe_proto::control::DeleteRequest;
use observe_proto::control::control_client::ControlClient;

use super::apply::{read_manifests, rejected};
use crate::args::GlobalArgs;
use crate::connect;

/// Flags of `observe delete`.
#[derive(clap::Args, Debug)]
pub struct DeleteArgs {
    /// Delete the objects these manifests name. Example: -f examples/policies.yaml
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub files: Vec<String>,
    /// Delete even if a host policy would then cut an agent from its control traffic (its
    /// kvstore, the clients of its TCP listener), which is otherwise refused.
    #[arg(long, global = true)]
    pub force: bool,
    /// What to delete without manifests.
    #[command(subcommand)]
    pub what: Option<DeleteWhat>,
}

/// `observe delete <what>`.
#[derive(clap::Subcommand, Debug)]
pub enum DeleteWhat {
    /// Delete policies.
    Policies {
        /// Every CNP, CCNP and KNP (endpoints stay). Example: observe delete policies --all
        #[arg(long)]
        all: bool,
    },
}

/// Runs `observe delete`.
pub fn run(global: &GlobalArgs, args: &DeleteArgs) -> Result<ExitCode> {
    let all_policies = match (&args.what, args.files.is_empty()) {
        (Some(DeleteWhat::Policies { all: true }), true) => true,
        (None, false) => false,
        (Some(DeleteWhat::Policies { all: false }), _) => {
            bail!("`observe delete policies` needs --all")
        }
        _ => bail!("give either -f FILE or `policies --all`"),
    };
    let manifests = read_manifests(&args.files)?;
    connect::block_on(async {
        let mut client = ControlClient::new(connect::channel(global).await?);
        match client
            .delete(connect::request(
                global,
                DeleteRequest {
                    manifests,
                    all_policies,
                    force: args.force,
                },
            ))
            .await
        {
            Ok(resp) => {
                resp.into_inner()
                    .results
                    .iter()
                    .for_each(|r| println!("{r}"));
                Ok(ExitCode::SUCCESS)
            }
            Err(status) => rejected(status, global),
        }
    })
}
