//! `observe status`: the agent's flow history and losses, like `hubble status`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::ValueEnum;
use observe_proto::observer::observer_client::ObserverClient;
use observe_proto::observer::{GetNodesRequest, Node, ServerStatusRequest};

use crate::args::GlobalArgs;
use crate::commands::flows::live::rejected;
use crate::connect;
use crate::output::status;

/// Output formats of `observe status`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFormat {
    /// Human-readable lines.
    Compact,
    /// The ServerStatusResponse as proto3 JSON.
    Json,
}

/// Flags of `observe status`.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// Output format. Example: -o json
    #[arg(short = 'o', long = "output", value_enum, default_value = "compact")]
    pub output: StatusFormat,
}

/// Runs `observe status`.
pub fn run(global: &GlobalArgs, args: &StatusArgs) -> Result<ExitCode> {
    let text = connect::block_on(async {
        let mut client = ObserverClient::new(connect::channel(global).await?);
        let status = client
            .server_status(connect::request(global, ServerStatusRequest {}))
            .await
            .map_err(|s| rejected(&s, global))?
            .into_inner();
        Ok(match args.output {
            StatusFormat::Json => serde_json::to_string(&status)? + "\n",
            StatusFormat::Compact => status::render(&status, &nodes(&mut client, global).await),
        })
    })?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The nodes the server knows; none when it does not answer `GetNodes`.
async fn nodes(
    client: &mut ObserverClient<tonic::transport::Channel>,
    global: &GlobalArgs,
) -> Vec<Node> {
    client
        .get_nodes(connect::request(global, GetNodesRequest {}))
        .await
        .map(|r| r.into_inner().nodes)
        .unwrap_or_default()
}
