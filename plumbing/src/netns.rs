//! Named network namespaces: create, delete and list them (`/var/run/netns`, as `ip netns` does),
//! find the calling thread's, and run code inside one. Entering a namespace is per thread, so
//! code runs on a fresh thread that enters first and the caller's thread never changes
//! namespace, except through [`enter`], which is for an agent's start.

use std::ffi::CString;
use std::fs::{self, File};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::panic;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use crate::command;
use crate::error::PlumbingError;

/// Where `ip netns add` keeps its bind mounts, one file per named namespace.
pub const NETNS_DIR: &str = "/var/run/netns";

/// Runs `f` on a fresh thread inside the network namespace `netns` and returns its result.
/// Sockets created by `f` belong to that namespace and keep working when moved out of `f`.
/// A panic in `f` is resumed on the caller's thread.
///
/// # Errors
///
/// [`PlumbingError::OpenNetns`] or [`PlumbingError::EnterNetns`] when the namespace cannot be
/// entered, and [`PlumbingError::Thread`] when no thread can be started; `f` does not run then.
pub fn in_netns<T: Send>(netns: &str, f: impl FnOnce() -> T + Send) -> Result<T, PlumbingError> {
    let file = open(netns)?;
    thread::scope(|scope| {
        let worker = thread::Builder::new()
            .name("in-netns".into())
            .spawn_scoped(scope, move || setns(netns, &file).map(|()| f()))
            .map_err(PlumbingError::Thread)?;
        worker
            .join()
            .unwrap_or_else(|payload| panic::resume_unwind(payload))
    })
}

/// Runs `f` inside `netns`, or on the calling thread when `netns` is empty (its own namespace).
pub(crate) fn within<T: Send>(
    netns: &str,
    f: impl FnOnce() -> T + Send,
) -> Result<T, PlumbingError> {
    if netns.is_empty() {
        Ok(f())
    } else {
        in_netns(netns, f)
    }
}

/// Starts `f` on a new thread inside `netns`; returns the thread's handle once it has entered
/// the namespace (so `f` never runs elsewhere).
///
/// # Errors
///
/// As for [`in_netns`], and [`PlumbingError::HelperGone`] if the thread ends before reporting.
pub fn spawn_in(
    netns: &str,
    f: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, PlumbingError> {
    let file = open(netns)?;
    let owned = netns.to_owned();
    let (entered_tx, entered_rx) = mpsc::sync_channel(1);
    let handle = thread::Builder::new()
        .name("netns-worker".into())
        .spawn(move || {
            let entered = setns(&owned, &file);
            let ok = entered.is_ok();
            // The receiver waits for exactly this message, so sending cannot fail.
            let _ = entered_tx.send(entered);
            if ok {
                f();
            }
        })
        .map_err(PlumbingError::Thread)?;
    match entered_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => {
            // The thread ends right after reporting; reap it.
            let _ = handle.join();
            Err(e)
        }
        Err(mpsc::RecvError) => Err(PlumbingError::HelperGone {
            netns: netns.to_owned(),
        }),
    }
}

/// Creates the named namespace `name` (`ip netns add`).
///
/// A named namespace is a bind mount under `/var/run/netns`, made in the caller's mount
/// namespace: a process started with `ip netns exec` has a private one, and the namespaces
/// it creates are invisible to everyone else. Callers that create namespaces therefore
/// enter network namespaces with [`enter`] rather than run under `ip netns exec` (see
/// [`crate::mounts`]).
///
/// # Errors
///
/// Command errors from `ip`.
pub fn add(name: &str) -> Result<(), PlumbingError> {
    command::ip(&["netns", "add", name])
}

/// Deletes the named namespace `name` (`ip netns del`). The kernel frees it, and the links
/// inside it, once the last socket or thread using it is gone.
///
/// # Errors
///
/// Command errors from `ip`.
pub fn delete(name: &str) -> Result<(), PlumbingError> {
    command::ip(&["netns", "del", name])
}

/// Moves the calling thread into the named network namespace `netns` without changing
/// its mount namespace (unlike `ip netns exec`), so namespaces it creates later are visible
/// to every process. Call it before starting other threads: they inherit it.
///
/// # Errors
///
/// [`PlumbingError::OpenNetns`] or [`PlumbingError::EnterNetns`].
pub fn enter(netns: &str) -> Result<(), PlumbingError> {
    let file = open(netns)?;
    setns(netns, &file)
}

/// The names of all named namespaces; empty when none was ever created.
pub fn list() -> Vec<String> {
    let Ok(entries) = fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect()
}

/// Whether a named namespace exists.
pub fn exists(name: &str) -> bool {
    list().iter().any(|n| n == name)
}

/// The name under which the calling thread's network namespace is mounted in
/// `/var/run/netns`, if any: how an agent started inside a named namespace finds its node.
pub fn current_name() -> Option<String> {
    let me = fs::metadata("/proc/thread-self/ns/net").ok()?;
    list().into_iter().find(|name| {
        fs::metadata(Path::new(NETNS_DIR).join(name))
            .is_ok_and(|m| m.ino() == me.ino() && m.dev() == me.dev())
    })
}

/// The ifindex of `ifname` inside `netns`.
///
/// # Errors
///
/// [`PlumbingError::NoSuchInterface`] or namespace errors.
pub fn ifindex(netns: &str, ifname: &str) -> Result<u32, PlumbingError> {
    let missing = || PlumbingError::NoSuchInterface {
        netns: netns.to_owned(),
        ifname: ifname.to_owned(),
    };
    let c_name = CString::new(ifname).map_err(|_| missing())?;
    // SAFETY: `c_name` is a valid NUL-terminated string that outlives the call;
    // `if_nametoindex` only reads it and resolves the name in the calling thread's namespace.
    let lookup = || unsafe { libc::if_nametoindex(c_name.as_ptr()) };
    let index = within(netns, lookup)?;
    if index == 0 {
        Err(missing())
    } else {
        Ok(index)
    }
}

/// Opens the namespace file of `netns`.
/// The namespace file of `netns`; the empty name is the calling thread's own namespace.
fn open(netns: &str) -> Result<File, PlumbingError> {
    let path = if netns.is_empty() {
        PathBuf::from("/proc/thread-self/ns/net")
    } else {
        PathBuf::from(NETNS_DIR).join(netns)
    };
    File::open(path).map_err(|source| PlumbingError::OpenNetns {
        netns: netns.to_owned(),
        source,
    })
}

/// Moves the calling thread into the network namespace `file` refers to.
fn setns(netns: &str, file: &File) -> Result<(), PlumbingError> {
    // SAFETY: `file` is open for the duration of the call, so the descriptor is valid;
    // `setns` changes only the calling thread's network namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        return Ok(());
    }
    Err(PlumbingError::EnterNetns {
        netns: netns.to_owned(),
        source: io::Error::last_os_error(),
    })
}
