//! Flows from the agent: one `GetFlows` stream, printed as it arrives (flushed after every
//! response when following, so `observe flows -f | grep` sees lines at once). Like
//! Hubble's, the stream has no deadline: `--request-timeout` bounds unary calls only.

use std::io::Write;

use anyhow::{Result, anyhow};
use observe_proto::observer::GetFlowsRequest;
use observe_proto::observer::observer_client::ObserverClient;
use tonic::Code;

use crate::args::GlobalArgs;
use crate::connect;
use crate::output::flows::FlowPrinter;

/// Streams `request` from the agent into `printer` until the stream ends.
///
/// # Errors
///
/// The agent is unreachable or rejects the request (one line saying why), or writing
/// fails (a closed pipe included, which `main` turns into a quiet exit).
pub async fn run<W: Write, E: Write>(
    global: &GlobalArgs,
    request: GetFlowsRequest,
    mut printer: FlowPrinter<W, E>,
) -> Result<()> {
    let follow = request.follow;
    let channel = connect::channel(global).await?;
    let mut client = ObserverClient::new(channel);
    let mut stream = client
        .get_flows(request)
        .await
        .map_err(|s| rejected(&s, global))?
        .into_inner();
    while let Some(response) = stream.message().await.map_err(|s| rejected(&s, global))? {
        printer.write(&response)?;
        if follow {
            printer.flush()?;
        }
    }
    printer.finish()?;
    Ok(())
}

/// One line for a failed call.
pub fn rejected(status: &tonic::Status, global: &GlobalArgs) -> anyhow::Error {
    if let Some(err) = connect::timed_out(status, global) {
        return err;
    }
    let message = status.message().replace(['\n', '\r'], " ");
    match status.code() {
        Code::InvalidArgument => anyhow!("the agent rejected the request: {message}"),
        Code::Unimplemented => anyhow!("the agent does not support this request: {message}"),
        Code::Unavailable | Code::Cancelled => anyhow!(
            "lost the connection to the agent at {}: {message}",
            global.server
        ),
        code => anyhow!("the agent failed the request ({code:?}): {message}"),
    }
}
