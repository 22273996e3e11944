//! Running external programs: `ip` for namespace, link, address and route configuration, and
//! [`output`]/[`checked`] for any other program (the lab runs `mount` and programs inside its
//! namespaces through them). Only this file spawns processes; everything else in the crate
//! calls these helpers.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::error::PlumbingError;

/// Runs `ip args…` and fails unless it exits successfully.
///
/// # Errors
///
/// [`PlumbingError::Spawn`] or [`PlumbingError::CommandFailed`].
pub fn ip(args: &[&str]) -> Result<(), PlumbingError> {
    let mut cmd = Command::new("ip");
    cmd.args(args);
    checked(cmd, None)
}

/// Runs `ip args…` in the named namespace `netns` (`ip -n netns args…`), or in the
/// caller's namespace when `netns` is empty (an agent on a real host wires endpoints to
/// the host's own namespace, which has no name).
///
/// # Errors
///
/// As for [`ip`].
pub fn ip_in(netns: &str, args: &[&str]) -> Result<(), PlumbingError> {
    let mut cmd = Command::new("ip");
    if !netns.is_empty() {
        cmd.args(["-n", netns]);
    }
    cmd.args(args);
    checked(cmd, None)
}

/// Runs the newline-separated `ip` commands of `script` in one `ip -n netns -batch -` process,
/// which is much faster than one process per command. Fails at the first failing command.
/// An empty `netns` is the caller's namespace, as for [`ip_in`].
///
/// # Errors
///
/// As for [`ip`].
pub fn ip_batch(netns: &str, script: &str) -> Result<(), PlumbingError> {
    let mut cmd = Command::new("ip");
    if !netns.is_empty() {
        cmd.args(["-n", netns]);
    }
    cmd.args(["-batch", "-"]);
    checked(cmd, Some(script))
}

/// Runs `cmd` (feeding `stdin` if given) and fails unless it exits successfully.
///
/// # Errors
///
/// [`PlumbingError::Spawn`] when it cannot be started, [`PlumbingError::CommandFailed`] with
/// its standard error when it fails.
pub fn checked(cmd: Command, stdin: Option<&str>) -> Result<(), PlumbingError> {
    let command = describe(&cmd, stdin);
    let out = output(cmd, stdin)?;
    if out.status.success() {
        return Ok(());
    }
    Err(PlumbingError::CommandFailed {
        command,
        status: out.status,
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    })
}

/// Runs `cmd` to completion with captured output, feeding `stdin` if given. A non-zero exit
/// status is not an error: the caller decides what it means.
///
/// # Errors
///
/// [`PlumbingError::Spawn`] when it cannot be started or its input cannot be written.
pub fn output(mut cmd: Command, stdin: Option<&str>) -> Result<Output, PlumbingError> {
    let spawn_error = |cmd: &Command, source| PlumbingError::Spawn {
        command: describe(cmd, stdin),
        source,
    };
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| spawn_error(&cmd, e))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // `ip -batch` reads all of stdin before it exits, and our scripts are far smaller
        // than a pipe buffer, so writing before reading the output cannot deadlock.
        // A program that exits early closes the pipe; its exit status tells why.
        match pipe.write_all(text.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                // Reap the child so it does not linger as a zombie; its result no longer matters.
                let _ = child.kill();
                let _ = child.wait();
                return Err(spawn_error(&cmd, e));
            }
            _ => {}
        }
    }
    child.wait_with_output().map_err(|e| spawn_error(&cmd, e))
}

/// The command line of `cmd` for error messages; a batch script is appended after `<<`.
fn describe(cmd: &Command, stdin: Option<&str>) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    if let Some(script) = stdin {
        line.push_str(" << ");
        line.push_str(&script.trim().replace('\n', "; "));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_shows_batch_script_on_one_line() {
        let mut cmd = Command::new("ip");
        cmd.args(["-n", "obs-abc123-n1", "-batch", "-"]);
        assert_eq!(
            describe(&cmd, Some("link set lo up\nlink set eth0 up\n")),
            "ip -n obs-abc123-n1 -batch - << link set lo up; link set eth0 up"
        );
    }
}
