//! `observe policy stage -f FILE`, `unstage`, `promote`: staged policies. The agent
//! decides every new connection by the staged set too, without enforcing it, and its flows
//! carry the staged verdict (`observe flows --staged-verdict DROPPED`); promoting applies
//! the set atomically.

use std::process::ExitCode;

use anyhow::Result;
use observe_proto::control::control_client::ControlClient;
use observe_proto::control::{PromoteRequest, StageRequest, UnstageRequest};

use crate::args::{GlobalArgs, StageArgs};
use crate::commands::apply::{accepted, read_manifests, rejected};
use crate::connect;

/// Runs `observe policy stage`.
pub fn stage(global: &GlobalArgs, args: &StageArgs) -> Result<ExitCode> {
    let manifests = read_manifests(&args.files)?;
    connect::block_on(async {
        let mut client = ControlClient::new(connect::channel(global).await?);
        let request = connect::request(global, StageRequest { manifests });
        match client.stage(request).await {
            Ok(resp) => {
                let resp = resp.into_inner();
                Ok(accepted(&resp.warnings, &resp.results))
            }
            Err(status) => rejected(status, global),
        }
    })
}

/// Runs `observe policy unstage`.
pub fn unstage(global: &GlobalArgs) -> Result<ExitCode> {
    connect::block_on(async {
        let mut client = ControlClient::new(connect::channel(global).await?);
        match client
            .unstage(connect::request(global, UnstageRequest {}))
            .await
        {
            Ok(resp) => {
                let dropped = resp.into_inner().dropped;
                if dropped.is_empty() {
                    println!("nothing was staged");
                }
                for key in dropped {
                    println!("{key} unstaged");
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(status) => rejected(status, global),
        }
    })
}

/// Runs `observe policy promote`.
pub fn promote(global: &GlobalArgs) -> Result<ExitCode> {
    connect::block_on(async {
        let mut client = ControlClient::new(connect::channel(global).await?);
        match client
            .promote(connect::request(global, PromoteRequest {}))
            .await
        {
            Ok(resp) => {
                let resp = resp.into_inner();
                Ok(accepted(&resp.warnings, &resp.results))
            }
            Err(status) if status.code() == tonic::Code::FailedPrecondition => {
                eprintln!("{}", status.message());
                Ok(ExitCode::FAILURE)
            }
            Err(status) => rejected(status, global),
        }
    })
}
