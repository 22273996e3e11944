//! `observe list nodes|namespaces`, like `hubble list`: the nodes behind the server (a
//! relay's, or the agent itself) and the namespaces seen in flows.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use observe_proto::observer::observer_client::ObserverClient;
use observe_proto::observer::{GetNamespacesRequest, GetNodesRequest};

use crate::args::GlobalArgs;
use crate::commands::flows::live::rejected;
use crate::connect;
use crate::output::list;

/// What to list.
#[derive(Subcommand, Debug)]
pub enum ListCommand {
    /// The nodes the server reads (through observe-relay, every node of the cluster).
    Nodes(ListArgs),
    /// The namespaces seen in flows during the last hour.
    Namespaces(ListArgs),
}

/// Flags of `observe list …`.
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Output format. Example: -o json
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    pub output: ListFormat,
}

/// Output formats of `observe list`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    /// Aligned columns.
    Table,
    /// The response as proto3 JSON.
    Json,
}

/// Runs `observe list …`.
pub fn run(global: &GlobalArgs, cmd: &ListCommand) -> Result<ExitCode> {
    let text = connect::block_on(async {
        let mut client = ObserverClient::new(connect::channel(global).await?);
        Ok(match cmd {
            ListCommand::Nodes(args) => {
                let r = client
                    .get_nodes(connect::request(global, GetNodesRequest {}))
                    .await
                    .map_err(|s| rejected(&s, global))?
                    .into_inner();
                match args.output {
                    ListFormat::Json => serde_json::to_string(&r)? + "\n",
                    ListFormat::Table => list::nodes(&r.nodes),
                }
            }
            ListCommand::Namespaces(args) => {
                let r = client
                    .get_namespaces(connect::request(global, GetNamespacesRequest {}))
                    .await
                    .map_err(|s| rejected(&s, global))?
                    .into_inner();
                match args.output {
                    ListFormat::Json => serde_json::to_string(&r)? + "\n",
                    ListFormat::Table => list::namespaces(&r.namespaces),
                }
            }
        })
    })?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
