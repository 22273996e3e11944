//! Integration tests of the `observe` binary, one test binary with a module per area:
//!
//! - `util`: running the binary, golden files, the fixture.
//! - `golden`: every output format, through `--input-file` replay of
//!   `tests/fixtures/flows.jsonl` (regenerate with `UPDATE_GOLDEN=1 cargo test -p observe-cli`).
//! - `filters`: every filter family, replayed, against goldens.
//! - `errors`: every failure is one line on stderr and a non-zero exit; a closed pipe is
//!   a quiet success.
//! - `replay`: large replays (many chunks, several reader threads) print and stop as
//!   reading line after line does.
//! - `misc`: config file, completions, man page.
//! - `validate`: `observe policy validate` over directories of manifests.
//! - `workloads`: `policy trace`, `matrix` and `validate` over the Star Wars workloads of
//!   `examples/star-wars`, against goldens.
//!
//! `observe flows` and `observe status` against an in-process agent live in the workspace's
//! end-to-end suite (`tests/cli/live.rs` at the root), which may depend on the agent.

mod dns;
mod errors;
mod filters;
mod golden;
mod http;
mod misc;
mod protocols;
mod replay;
mod util;
mod validate;
mod workloads;
