//! Per-namespace sysctls. `/proc/sys/net` shows the network namespace of the thread that opens
//! it, so reading or writing from a thread inside a namespace concerns that namespace only,
//! never the host's (unless `netns` is empty: the calling thread's own).

use std::fs;
use std::io;
use std::path::Path;

use crate::error::PlumbingError;
use crate::netns;

/// Duplicate address detection off, for interfaces created later (`default`) and for the
/// namespace as a whole (`all`): endpoint addresses are unique by construction, and without
/// this an IPv6 address (the automatic link-local one included) stays "tentative" for about a
/// second.
pub const NO_DAD: &[(&str, &str)] = &[
    ("net/ipv6/conf/all/accept_dad", "0"),
    ("net/ipv6/conf/default/accept_dad", "0"),
];

/// Writes each `(key, value)` (a path under `/proc/sys`) inside `netns`.
///
/// # Errors
///
/// [`PlumbingError::Io`] for the first key that cannot be written; namespace errors.
pub fn write(netns: &str, settings: &[(&str, &str)]) -> Result<(), PlumbingError> {
    netns::within(netns, || {
        settings
            .iter()
            .try_for_each(|(key, value)| write_here(key, value))
    })?
}

/// Reads each key (a path under `/proc/sys`) inside `netns`, trimmed; `None` for a key the
/// kernel does not have (IPv6 keys on a kernel without IPv6).
///
/// # Errors
///
/// [`PlumbingError::Io`] for a key that exists but cannot be read; namespace errors.
pub fn read(netns: &str, keys: &[&str]) -> Result<Vec<Option<String>>, PlumbingError> {
    netns::within(netns, || keys.iter().map(|key| read_here(key)).collect())?
}

/// Writes `value` to `/proc/sys/<key>` in the calling thread's namespace.
pub(crate) fn write_here(key: &str, value: &str) -> Result<(), PlumbingError> {
    let path = Path::new("/proc/sys").join(key);
    fs::write(&path, value).map_err(|e| PlumbingError::io(path, e))
}

/// Reads `/proc/sys/<key>` in the calling thread's namespace; `None` when it does not exist.
pub(crate) fn read_here(key: &str) -> Result<Option<String>, PlumbingError> {
    let path = Path::new("/proc/sys").join(key);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PlumbingError::io(path, e)),
    }
}
