//! Shared by the dashboard's end-to-end tests: the fixture cluster of the dashboard's own
//! tests (`tui/tests/support/fixtures.rs`, included as is), the agent's side of it (events
//! and the real decoder), and an in-process agent serving them on a unix socket.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the support code"
)]

pub mod agent;
pub mod events;
#[path = "../../../tui/tests/support/fixtures.rs"]
pub mod fixtures;
