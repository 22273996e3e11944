//! Whether the named network namespaces this process creates are visible to the rest of the
//! host.
//!
//! A named namespace is a bind mount under `/var/run/netns`, made in the creating process's
//! mount namespace. A process started under `ip netns exec` (or `unshare -m`) has a private
//! one: its mounts reach nobody else, so the namespaces it creates exist for it alone. They
//! are visible when the process shares PID 1's mount namespace, or when the mount holding the
//! directory propagates to PID 1's (a shared mount, as a container given `/var/run/netns`
//! with bidirectional propagation has). The namespaces are compared by their `ns/mnt` links,
//! and where PID 1's cannot be read, by the mount tables (mount ids are unique system-wide).

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::error::PlumbingError;
use crate::netns::NETNS_DIR;

/// Whether PID 1's mount namespace sees the namespaces this process creates under
/// [`NETNS_DIR`].
///
/// # Errors
///
/// [`PlumbingError::Io`] when a mount table cannot be read: the question has no answer then.
pub fn netns_mounts_visible() -> Result<bool, PlumbingError> {
    if let (Ok(own), Ok(init)) = (
        fs::read_link("/proc/self/ns/mnt"),
        fs::read_link("/proc/1/ns/mnt"),
    ) && own == init
    {
        return Ok(true);
    }
    let table = |path: &str| {
        fs::read_to_string(path)
            .map(|text| parse(&text))
            .map_err(|e| PlumbingError::io(path, e))
    };
    let own = table("/proc/self/mountinfo")?;
    let init = table("/proc/1/mountinfo")?;
    Ok(reaches(&own, &init, &resolved(Path::new(NETNS_DIR))))
}

/// One line of a mount table (`/proc/PID/mountinfo`), what this check needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    /// The mount id, unique across mount namespaces.
    id: u64,
    /// Where it is mounted.
    point: PathBuf,
    /// Its peer group when it is a shared mount (`shared:N`).
    shared: Option<u64>,
}

/// Whether a mount made under `dir` in the namespace of `own` shows up in the namespace of
/// `init`: the mount holding `dir` is the same mount in both (one namespace), or a peer of a
/// mount there (a shared peer group). An unreadable `own` table cannot tell; it does not
/// refuse.
fn reaches(own: &[Mount], init: &[Mount], dir: &Path) -> bool {
    let Some(holder) = holder(own, dir) else {
        return true;
    };
    init.iter()
        .any(|m| m.id == holder.id || (holder.shared.is_some() && m.shared == holder.shared))
}

/// The mount that holds `dir`: the deepest mount point above it, the topmost of a stack.
fn holder<'a>(table: &'a [Mount], dir: &Path) -> Option<&'a Mount> {
    table
        .iter()
        .filter(|m| dir.starts_with(&m.point))
        .max_by_key(|m| m.point.components().count())
}

/// The mounts of a mount table; malformed lines are skipped.
fn parse(table: &str) -> Vec<Mount> {
    table.lines().filter_map(parse_line).collect()
}

/// `ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER`.
fn parse_line(line: &str) -> Option<Mount> {
    let mut fields = line.split(' ');
    let id = fields.next()?.parse().ok()?;
    let point = unescape(fields.nth(3)?);
    let _options = fields.next()?;
    let shared = fields
        .take_while(|f| *f != "-")
        .find_map(|f| f.strip_prefix("shared:")?.parse().ok());
    Some(Mount { id, point, shared })
}

/// Undoes the table's octal escapes (`\040` for a space, `\134` for a backslash).
fn unescape(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)))
            .and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok());
        match octal {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    PathBuf::from(OsString::from_vec(out))
}

/// `dir` with its symbolic links resolved (`/var/run` is usually `/run`), also when `dir`
/// itself does not exist yet.
fn resolved(dir: &Path) -> PathBuf {
    if let Ok(real) = fs::canonicalize(dir) {
        return real;
    }
    match (dir.parent().map(fs::canonicalize), dir.file_name()) {
        (Some(Ok(parent)), Some(name)) => parent.join(name),
        _ => dir.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PID 1's table on a systemd host after `ip netns add`.
    const HOST: &str = "\
22 27 0:21 / /proc rw,relatime shared:12 - proc proc rw
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 27 0:25 / /run rw,nosuid shared:5 - tmpfs tmpfs rw
80 30 0:4 / /run/netns rw shared:40 - tmpfs tmpfs rw
";

    /// The same process's view under `ip netns exec`: copies that only receive (`master:`).
    const IP_NETNS_EXEC: &str = "\
49 48 254:0 / / rw,relatime master:1 - ext4 /dev/vda rw
61 49 0:25 / /run rw,nosuid master:5 - tmpfs tmpfs rw
70 61 0:4 / /run/netns rw master:40 - tmpfs tmpfs rw
52 49 0:41 / /sys rw,relatime - sysfs node1 rw
";

    /// A container whose `/run/netns` is the host's, mounted with bidirectional propagation.
    const BIDIRECTIONAL: &str = "\
90 89 0:60 / / rw master:7 - overlay overlay rw
95 90 0:4 / /run/netns rw shared:40 - tmpfs tmpfs rw
";

    fn netns_dir() -> &'static Path {
        Path::new("/run/netns")
    }

    #[test]
    fn the_host_itself_sees_its_own_mounts() {
        let host = parse(HOST);
        assert!(reaches(&host, &host, netns_dir()));
        assert!(
            reaches(&host[..3], &host[..3], netns_dir()),
            "before /run/netns is a mount, /run holds it"
        );
    }

    #[test]
    fn namespaces_created_under_ip_netns_exec_stay_invisible() {
        assert!(!reaches(&parse(IP_NETNS_EXEC), &parse(HOST), netns_dir()));
    }

    #[test]
    fn a_shared_netns_directory_propagates_to_the_host() {
        assert!(reaches(&parse(BIDIRECTIONAL), &parse(HOST), netns_dir()));
    }

    #[test]
    fn the_deepest_and_topmost_mount_holds_the_directory() {
        let table = parse(
            "1 0 0:1 / / rw shared:1 - ext4 a rw\n\
             2 1 0:2 / /run rw - tmpfs a rw\n\
             3 1 0:3 / /run rw shared:9 - tmpfs b rw\n\
             4 3 0:4 / /run/netnsx rw - tmpfs c rw\n",
        );
        assert_eq!(holder(&table, netns_dir()).map(|m| m.id), Some(3));
    }

    #[test]
    fn mount_table_lines_parse_with_escapes_and_without_optional_fields() {
        assert_eq!(
            parse_line(
                "36 35 98:0 /mnt1 /mnt\\040two rw,noatime master:1 shared:3 - ext3 /dev/root rw"
            ),
            Some(Mount {
                id: 36,
                point: PathBuf::from("/mnt two"),
                shared: Some(3),
            })
        );
        assert_eq!(
            parse_line("52 49 0:41 / /sys rw - sysfs s rw").map(|m| m.shared),
            Some(None)
        );
        assert_eq!(parse_line("garbage"), None);
        assert_eq!(unescape("a\\134b\\0"), PathBuf::from("a\\b\\0"));
    }
}
