//! Talking to the agent: a tokio runtime for the commands that need one, a channel to
//! `--server` (with the `--tls*` settings) with an error that says what to check, and
//! requests bounded by `--request-timeout`.

use anyhow::{Context, Result};
use tonic::transport::Channel;

use crate::args::GlobalArgs;

/// Runs `fut` on a single-threaded runtime.
pub fn block_on<T>(fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(fut)
}

/// A channel to the agent; the error is one line naming the address and the root cause.
pub async fn channel(global: &GlobalArgs) -> Result<Channel> {
    observe_proto::client::connect_with(&global.server, global.timeout, &global.tls.options())
        .await
        .map_err(|e| {
            let mut cause: &dyn std::error::Error = &e;
            while let Some(next) = cause.source() {
                cause = next;
            }
            anyhow::anyhow!(
                "cannot reach the agent at {}: {cause} (is observerd running? see --server)",
                global.server
            )
        })
}

/// `message` as a unary request the agent must answer within `--request-timeout` (0: no
/// limit), as Hubble bounds its unary calls. The deadline travels as `grpc-timeout` and
/// the channel enforces it too. Not for streams, as in Hubble: a server ends a stream at
/// its deadline, and `observe flows --follow` has none.
pub fn request<T>(global: &GlobalArgs, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if !global.request_timeout.is_zero() {
        request.set_timeout(global.request_timeout);
    }
    request
}

/// One line for a request that ran out of `--request-timeout`, if `status` says so
/// (tonic's channel cancels it; a Go server answers `DeadlineExceeded`).
pub fn timed_out(status: &tonic::Status, global: &GlobalArgs) -> Option<anyhow::Error> {
    let expired = match status.code() {
        tonic::Code::DeadlineExceeded => true,
        tonic::Code::Cancelled => status.message() == tonic::TimeoutExpired(()).to_string(),
        _ => false,
    };
    expired.then(|| {
        anyhow::anyhow!(
            "the agent at {} did not answer within {:?} (see --request-timeout)",
            global.server,
            global.request_timeout
        )
    })
}
