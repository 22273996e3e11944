//! `observe policy suggest --namespace NS [--since 1h]`: least-privilege policies for a
//! namespace from the allowed traffic the agent recorded (see [`crate::suggest`]), as
//! YAML to review, `observe policy whatif` and apply.

use std::process::ExitCode;

use anyhow::Result;
use observe_proto::flow::{FlowFilter, Verdict};
use observe_proto::observer::GetFlowsRequest;
use observe_proto::observer::get_flows_response::ResponseTypes;
use observe_proto::observer::observer_client::ObserverClient;

use crate::args::{GlobalArgs, SuggestArgs};
use crate::commands::flows::live::rejected;
use crate::connect;
use crate::suggest::Suggestions;

/// Runs `observe policy suggest`.
pub fn run(global: &GlobalArgs, args: &SuggestArgs) -> Result<ExitCode> {
    let since = args
        .since
        .as_deref()
        .map(crate::commands::flows::since::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("invalid --since: {e}"))?;
    let ns = format!("{}/", args.namespace);
    let forwarded = |f: FlowFilter| FlowFilter {
        verdict: vec![Verdict::Forwarded.into()],
        ..f
    };
    let request = GetFlowsRequest {
        since,
        whitelist: vec![
            forwarded(FlowFilter {
                source_pod: vec![ns.clone()],
                ..Default::default()
            }),
            forwarded(FlowFilter {
                destination_pod: vec![ns],
                ..Default::default()
            }),
        ],
        blacklist: vec![FlowFilter {
            reply: vec![true],
            ..Default::default()
        }],
        ..Default::default()
    };
    let suggestions = connect::block_on(async {
        let mut client = ObserverClient::new(connect::channel(global).await?);
        let mut stream = client
            .get_flows(connect::request(global, request))
            .await
            .map_err(|s| rejected(&s, global))?
            .into_inner();
        let mut s = Suggestions::new(&args.namespace);
        while let Some(r) = stream.message().await.map_err(|s| rejected(&s, global))? {
            if let Some(ResponseTypes::Flow(flow)) = r.response_types {
                s.add(&flow);
            }
        }
        anyhow::Ok(s)
    })?;
    if suggestions.is_empty() {
        eprintln!(
            "no allowed traffic of namespace {} recorded{}: nothing to suggest (the agent reports allowed connections with --trace new, or where a policy selects the pod)",
            args.namespace,
            if args.since.is_some() {
                " in that time"
            } else {
                ""
            }
        );
        return Ok(ExitCode::FAILURE);
    }
    if suggestions.skipped > 0 {
        eprintln!(
            "{} flows skipped: pods without labels to select them by",
            suggestions.skipped
        );
    }
    print!("{}", suggestions.to_cnp_yaml());
    Ok(ExitCode::SUCCESS)
}
