//! Shared by the integration tests and the benchmark: flows made by the observer's real
//! decoder from synthetic datapath events (so the TUI is tested on what the agent really
//! sends), an in-process agent serving them on a unix socket, and screen helpers.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the support code"
)]

pub mod agent;
pub mod fixtures;
pub mod screen;
