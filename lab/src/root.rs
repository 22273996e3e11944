//! [`require_root`]: the guard privileged tests call first, so the suite still passes (as
//! skipped) for a non-root user.

/// Returns `true` when running as root (effective uid 0); otherwise prints
/// `skipped: needs root` to stderr and returns `false`, for tests to return early.
pub fn require_root() -> bool {
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("skipped: needs root");
    }
    root
}
