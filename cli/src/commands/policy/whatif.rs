//! `observe policy whatif -f new.yaml [--since 1h]`: which recorded connections would
//! change verdict if the manifests were applied. The agent replays its flow history
//! through a copy of its engine with them (nothing is applied). Exit 0 when no allowed
//! connection would be denied, 1 when some would (the change breaks traffic), so it can
//! gate a rollout in CI.

use std::process::ExitCode;

use anyhow::Result;
use observe_proto::control::WhatIfRequest;
use observe_proto::control::control_client::ControlClient;

use crate::args::{GlobalArgs, WhatIfArgs};
use crate::commands::apply::{read_manifests, rejected};
use crate::connect;
use crate::output::whatif;

/// Runs `observe policy whatif`.
pub fn run(global: &GlobalArgs, args: &WhatIfArgs) -> Result<ExitCode> {
    let manifests = read_manifests(&args.files)?;
    let since = args
        .since
        .as_deref()
        .map(crate::commands::flows::since::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("invalid --since: {e}"))?;
    connect::block_on(async {
        let mut client = ControlClient::new(connect::channel(global).await?);
        let request = WhatIfRequest { manifests, since };
        match client.what_if(connect::request(global, request)).await {
            Ok(resp) => {
                let resp = resp.into_inner();
                print!("{}", whatif::render(&resp, args.json)?);
                let breaks = resp.changes.iter().any(whatif::breaks);
                Ok(if breaks {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                })
            }
            Err(status) => rejected(status, global),
        }
    })
}
