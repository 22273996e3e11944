//! [`cleanup_stale`]: removes what runs left behind when their process died without dropping
//! its guards (killed, aborted). Resources of live runs, and anything without a run prefix, are
//! never touched.

use std::fs;
use std::path::Path;

use observe_plumbing::netns;

use crate::bpffs::BPFFS_ROOT;
use crate::run_id::{self, MARKER_DIR};

/// Deletes `obs-xxxxxx-*` namespaces and `/sys/fs/bpf/obs-xxxxxx` directories whose owning
/// process is dead (or unknown), then those runs' owner markers. Returns how many namespaces
/// and directories were removed; failures are logged to stderr.
///
/// Safe to call while other labs (in this or other processes) are running: their owners are
/// alive. Call it once at the start of a test binary or demo.
pub fn cleanup_stale() -> usize {
    let stale = |name: &str| run_id::run_prefix_of(name).is_some_and(|p| !run_id::owner_alive(p));
    let mut removed = 0;
    for ns in netns::list().into_iter().filter(|ns| stale(ns)) {
        match netns::delete(&ns) {
            Ok(()) => removed += 1,
            Err(e) => eprintln!("lab: failed to delete stale namespace {ns}: {e}"),
        }
    }
    for dir in entry_names(BPFFS_ROOT).filter(|d| is_run_prefix(d) && stale(d)) {
        let path = Path::new(BPFFS_ROOT).join(&dir);
        match fs::remove_dir_all(&path) {
            Ok(()) => removed += 1,
            Err(e) => eprintln!("lab: failed to remove stale {}: {e}", path.display()),
        }
    }
    // Markers last, so a run's record goes only after its resources.
    for marker in entry_names(MARKER_DIR) {
        let Some(prefix) = marker.strip_suffix(".pid") else {
            continue;
        };
        if is_run_prefix(prefix) && stale(prefix) {
            let _ = fs::remove_file(Path::new(MARKER_DIR).join(&marker));
        }
    }
    removed
}

/// Removes every namespace and bpffs directory of the run `prefix` (persistent or not),
/// then its marker: how a persisted demo lab is taken down. Returns how many namespaces
/// and directories were removed. Names without that exact run prefix are never touched.
pub fn teardown(prefix: &str) -> usize {
    if !is_run_prefix(prefix) {
        eprintln!("lab: {prefix:?} is not a run prefix; nothing removed");
        return 0;
    }
    let ours = |name: &str| run_id::run_prefix_of(name) == Some(prefix);
    let mut removed = 0;
    for ns in netns::list().into_iter().filter(|ns| ours(ns)) {
        match netns::delete(&ns) {
            Ok(()) => removed += 1,
            Err(e) => eprintln!("lab: failed to delete namespace {ns}: {e}"),
        }
    }
    let dir = Path::new(BPFFS_ROOT).join(prefix);
    if dir.exists() {
        match fs::remove_dir_all(&dir) {
            Ok(()) => removed += 1,
            Err(e) => eprintln!("lab: failed to remove {}: {e}", dir.display()),
        }
    }
    let _ = fs::remove_file(run_id::marker_path(prefix));
    removed
}

/// Whether `name` is exactly a run prefix (no suffix).
fn is_run_prefix(name: &str) -> bool {
    run_id::run_prefix_of(name) == Some(name)
}

/// The entry names of `dir`; nothing when it does not exist.
fn entry_names(dir: &str) -> impl Iterator<Item = String> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
}
