//! The workspace-level end-to-end suite: the agent (`observerd`, or its library serving
//! in-process), the `observe` CLI and the dashboard, driven together. Everything here is a
//! test target; this library is empty and exists because cargo needs one target that is
//! not a test.
//!
//! - `agent_e2e/`: the real `observerd` in a lab of network namespaces, real traffic,
//!   the CLI and the dashboard against it (root only; feature `agent`).
//! - `cli/`: `observe flows` and `observe status` against an in-process agent.
//! - `tui/`: the dashboard's flow stream and the real `observe tui` in a pseudo-terminal
//!   against an in-process agent, and the check that the dashboard's fixture flows are the
//!   ones the agent's decoder makes.
//!
//! The `observe` binary is `$OBSERVE_BIN` and `observerd` is `$OBSERVERD_BIN` when set
//! (`cargo xtask test` sets both), else each is built with cargo into this test's target
//! directory.
