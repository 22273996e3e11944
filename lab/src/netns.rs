//! Named network namespaces: create, delete and list them (`/var/run/netns`, as `ip netns` does),
//! and run code inside one. Entering a namespace is per thread, so code always runs on a fresh
//! thread that enters first; the caller's thread never changes namespace.

use std::ffi::CString;
use std::fs::{self, File};
use std::io;
use std::os::fd::AsRawFd;
use std::panic;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use crate::command;
use crate::error::LabError;

/// Where `ip netns add` keeps its bind mounts, one file per named namespace.
pub(crate) const NETNS_DIR: &str = "/var/run/netns";

/// Runs `f` on a fresh thread inside the network namespace `netns` and returns its result.
/// Sockets created by `f` belong to that namespace and keep working when moved out of `f`.
/// A panic in `f` is resumed on the caller's thread.
///
/// # Errors
///
/// [`LabError::OpenNetns`] or [`LabError::EnterNetns`] when the namespace cannot be entered, and
/// [`LabError::Thread`] when no thread can be started; `f` does not run then.
pub fn in_netns<T: Send>(netns: &str, f: impl FnOnce() -> T + Send) -> Result<T, LabError> {
    let file = open(netns)?;
    thread::scope(|scope| {
        let worker = thread::Builder::new()
            .name("lab-in-netns".into())
            .spawn_scoped(scope, move || enter(netns, &file).map(|()| f()))
            .map_err(LabError::Thread)?;
        worker
            .join()
            .unwrap_or_else(|payload| panic::resume_unwind(payload))
    })
}

/// Starts `f` on a new thread inside `netns`; returns the thread's handle once it has entered
/// the namespace (so `f` never runs elsewhere).
pub(crate) fn spawn_in(
    netns: &str,
    f: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, LabError> {
    let file = open(netns)?;
    let owned = netns.to_owned();
    let (entered_tx, entered_rx) = mpsc::sync_channel(1);
    let handle = thread::Builder::new()
        .name("lab-netns-srv".into())
        .spawn(move || {
            let entered = enter(&owned, &file);
            let ok = entered.is_ok();
            // The receiver waits for exactly this message, so sending cannot fail.
            let _ = entered_tx.send(entered);
            if ok {
                f();
            }
        })
        .map_err(LabError::Thread)?;
    match entered_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => {
            // The thread ends right after reporting; reap it.
            let _ = handle.join();
            Err(e)
        }
        Err(mpsc::RecvError) => Err(LabError::HelperGone {
            netns: netns.to_owned(),
        }),
    }
}

/// Creates the named namespace `name` (`ip netns add`).
///
/// A named namespace is a bind mount under `/var/run/netns`, made in the caller's mount
/// namespace: a process started with `ip netns exec` has a private one, and the namespaces
/// it creates are invisible to everyone else. Callers that create namespaces therefore
/// enter network namespaces with [`enter`] rather than run under `ip netns exec`.
pub(crate) fn add(name: &str) -> Result<(), LabError> {
    command::ip(&["netns", "add", name])
}

/// Deletes the named namespace `name` (`ip netns del`). The kernel frees it, and the links
/// inside it, once the last socket or thread using it is gone.
pub(crate) fn delete(name: &str) -> Result<(), LabError> {
    command::ip(&["netns", "del", name])
}

/// Moves the calling thread into the named network namespace `netns`, keeping its mount
/// namespace (threads it spawns afterwards start there too).
pub(crate) fn enter_named(netns: &str) -> Result<(), LabError> {
    let file = open(netns)?;
    enter(netns, &file)
}

/// The names of all named namespaces; empty when none was ever created.
pub(crate) fn list() -> Vec<String> {
    let Ok(entries) = fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect()
}

/// The ifindex of `ifname` inside `netns`.
pub(crate) fn ifindex(netns: &str, ifname: &str) -> Result<u32, LabError> {
    let missing = || LabError::NoSuchInterface {
        netns: netns.to_owned(),
        ifname: ifname.to_owned(),
    };
    let c_name = CString::new(ifname).map_err(|_| missing())?;
    // SAFETY: `c_name` is a valid NUL-terminated string that outlives the call;
    // `if_nametoindex` only reads it and resolves the name in the calling thread's namespace.
    let lookup = || unsafe { libc::if_nametoindex(c_name.as_ptr()) };
    // An empty name is the caller's own namespace (see `command::ip_in`).
    let index = if netns.is_empty() {
        lookup()
    } else {
        in_netns(netns, lookup)?
    };
    if index == 0 {
        Err(missing())
    } else {
        Ok(index)
    }
}

/// Opens the namespace file of `netns`.
fn open(netns: &str) -> Result<File, LabError> {
    File::open(PathBuf::from(NETNS_DIR).join(netns)).map_err(|source| LabError::OpenNetns {
        netns: netns.to_owned(),
        source,
    })
}

/// Moves the calling thread into the network namespace `file` refers to.
fn enter(netns: &str, file: &File) -> Result<(), LabError> {
    // SAFETY: `file` is open for the duration of the call, so the descriptor is valid;
    // `setns` changes only the calling thread's network namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        return Ok(());
    }
    Err(LabError::EnterNetns {
        netns: netns.to_owned(),
        source: io::Error::last_os_error(),
    })
}
