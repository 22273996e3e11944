//! Shared by the integration tests and the benchmark: flows as the agent's decoder makes
//! them from synthetic datapath events, built directly (the workspace's `tests/tui/`
//! checks them against the real decoder and serves them from an in-process agent), and
//! screen helpers.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the support code"
)]

pub mod fixtures;
pub mod screen;
