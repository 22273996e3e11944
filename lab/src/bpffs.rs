//! [`BpffsDir`]: a per-run directory on the BPF file system (`/sys/fs/bpf/<prefix>/<name>`) for
//! pinned maps and programs, removed with everything pinned in it when the guard drops. Mounts
//! bpffs at `/sys/fs/bpf` first if nothing is mounted there.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::LabError;
use crate::name;
use crate::run_id::RunId;

/// Where bpffs is (or gets) mounted.
pub(crate) const BPFFS_ROOT: &str = "/sys/fs/bpf";

/// Serializes mounting and the creation and removal of run directories within this process, so
/// two guards of one run never race on their shared parent directory and bpffs is mounted once.
static LOCK: Mutex<()> = Mutex::new(());

/// A directory on bpffs owned by one run. Unlinking a pinned object's file unpins it, so
/// dropping the guard (which removes the whole tree) releases everything pinned below it.
#[derive(Debug)]
pub struct BpffsDir {
    path: PathBuf,
    /// Keeps the run's owner marker alive as long as the directory exists.
    _run: Arc<RunId>,
}

impl BpffsDir {
    /// Creates `/sys/fs/bpf/<prefix>/<tag>` under a fresh run prefix of its own, for tests that
    /// need pinning but no lab. With a lab, use `Lab::bpffs_dir` to share the lab's prefix.
    ///
    /// # Errors
    ///
    /// [`LabError::InvalidName`] for a bad tag; command errors when bpffs cannot be mounted;
    /// [`LabError::Io`] when the directory cannot be created.
    pub fn new(tag: &str) -> Result<BpffsDir, LabError> {
        BpffsDir::create(RunId::reserve(tag)?, tag)
    }

    /// Creates `/sys/fs/bpf/<prefix of run>/<name>`.
    pub(crate) fn create(run: Arc<RunId>, name: &str) -> Result<BpffsDir, LabError> {
        name::validate(name)?;
        let _guard = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        ensure_mounted()?;
        let parent = Path::new(BPFFS_ROOT).join(run.prefix());
        fs::create_dir_all(&parent).map_err(|e| LabError::io(&parent, e))?;
        let path = parent.join(name);
        match fs::create_dir(&path) {
            Ok(()) => Ok(BpffsDir { path, _run: run }),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(LabError::DuplicateName {
                name: name.to_owned(),
                prefix: run.prefix().to_owned(),
            }),
            Err(e) => Err(LabError::io(path, e)),
        }
    }

    /// The directory to pin objects in.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for BpffsDir {
    fn drop(&mut self) {
        let _guard = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = fs::remove_dir_all(&self.path) {
            eprintln!("lab: failed to remove {}: {e}", self.path.display());
        }
        // The run directory goes with its last child; while siblings remain this fails.
        if let Some(parent) = self.path.parent() {
            let _ = fs::remove_dir(parent);
        }
    }
}

/// Mounts bpffs at [`BPFFS_ROOT`] unless it is mounted already.
fn ensure_mounted() -> Result<(), LabError> {
    let mounts = "/proc/self/mounts";
    let table = fs::read_to_string(mounts).map_err(|e| LabError::io(mounts, e))?;
    if is_mounted(&table) {
        return Ok(());
    }
    let mut mount = Command::new("mount");
    mount.args(["-t", "bpf", "bpf", BPFFS_ROOT]);
    Ok(observe_plumbing::command::checked(mount, None)?)
}

/// Whether the mount table (`/proc/self/mounts` format) has bpffs at [`BPFFS_ROOT`].
fn is_mounted(table: &str) -> bool {
    table.lines().any(|line| {
        let mut fields = line.split_whitespace().skip(1);
        fields.next() == Some(BPFFS_ROOT) && fields.next() == Some("bpf")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bpffs_in_the_mount_table() {
        let with = "sysfs /sys sysfs rw 0 0\nbpf /sys/fs/bpf bpf rw,relatime 0 0\n";
        let without = "sysfs /sys sysfs rw 0 0\ntmpfs /sys/fs/bpf tmpfs rw 0 0\n";
        assert!(is_mounted(with));
        assert!(!is_mounted(without));
        assert!(!is_mounted(""));
    }
}
