//! Running something inside a lab namespace: a program with [`exec`] (through
//! `ip netns exec`), code with [`in_netns`]. Both are `observe_plumbing`'s machinery with the
//! lab's error type; the plumbing spawns every process and thread of the lab.

use std::process::{Command, Output};

use crate::error::LabError;

/// Runs `program args…` inside the network namespace `netns` (through `ip netns exec`) and
/// returns its output. A non-zero exit status is not an error: the caller decides what it means.
///
/// # Errors
///
/// [`LabError::Plumbing`] ([`observe_plumbing::PlumbingError::Spawn`]) when `ip` cannot be
/// started.
pub fn exec(netns: &str, program: &str, args: &[&str]) -> Result<Output, LabError> {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", netns, program]).args(args);
    Ok(observe_plumbing::command::output(cmd, None)?)
}

/// Runs `f` on a fresh thread inside the network namespace `netns` and returns its result.
/// Sockets created by `f` belong to that namespace and keep working when moved out of `f`.
/// A panic in `f` is resumed on the caller's thread.
///
/// # Errors
///
/// [`LabError::Plumbing`] when the namespace cannot be entered or no thread can be started;
/// `f` does not run then.
pub fn in_netns<T: Send>(netns: &str, f: impl FnOnce() -> T + Send) -> Result<T, LabError> {
    Ok(observe_plumbing::netns::in_netns(netns, f)?)
}
