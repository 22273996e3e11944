//! The unix socket's access: mode 0660 (set when binding, see
//! [`crate::server::bind_unix`]) and, with `--socket-group`, the group whose members may
//! connect; everyone else is refused by the kernel before a byte of gRPC is read.

use std::ffi::CString;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

/// Gives the socket at `path` to the group `spec` (a name or a numeric GID).
pub fn set_group(path: &Path, spec: &str) -> Result<u32> {
    let gid = resolve_group(spec)?;
    std::os::unix::fs::chown(path, None, Some(gid))
        .with_context(|| format!("cannot give {} to group {spec}", path.display()))?;
    Ok(gid)
}

/// A group name or number as a GID.
pub fn resolve_group(spec: &str) -> Result<u32> {
    if let Ok(gid) = spec.parse::<u32>() {
        return Ok(gid);
    }
    let name = CString::new(spec).map_err(|_| anyhow!("invalid --socket-group {spec:?}"))?;
    let mut buf = vec![0 as libc::c_char; 4096];
    loop {
        // SAFETY: `group` and `buf` outlive the call and `result` only ever points into
        // them; getgrnam_r is the thread-safe variant (no static buffer).
        let mut group: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        let rc = unsafe {
            libc::getgrnam_r(
                name.as_ptr(),
                &mut group,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        match rc {
            0 if result.is_null() => bail!("--socket-group {spec:?}: no such group"),
            0 => return Ok(group.gr_gid),
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            errno => {
                let e = std::io::Error::from_raw_os_error(errno);
                bail!("--socket-group {spec:?}: cannot look the group up: {e}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_resolve_by_number_and_name() {
        assert_eq!(resolve_group("1234").unwrap(), 1234);
        assert_eq!(resolve_group("root").unwrap(), 0, "every system has root");
        let err = resolve_group("no-such-group-observe-test").unwrap_err();
        assert!(err.to_string().contains("no such group"), "{err}");
    }
}
