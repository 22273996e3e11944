//! Talking to the agent: a tokio runtime for the commands that need one, and a channel to
//! `--server` (with the `--tls*` settings) with an error that says what to check.

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
