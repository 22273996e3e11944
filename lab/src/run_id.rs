//! Per-run identity: the unique `obs-xxxxxx` prefix that every namespace and bpffs directory of
//! a run carries, and the marker file `/run/obs-lab/<prefix>.pid` that records which process owns
//! it. The marker is what lets `cleanup_stale` tell leftovers of dead runs from live ones.
//! Creating and deleting the resources themselves belongs elsewhere.

use std::fs;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::LabError;
use crate::name;

/// Where marker files live: one `<prefix>.pid` per live run.
pub(crate) const MARKER_DIR: &str = "/run/obs-lab";
/// Every run prefix starts with this.
const HEAD: &str = "obs-";
/// Number of base36 characters after [`HEAD`].
const ID_LEN: usize = 6;
/// How many candidate prefixes to try before giving up.
const MAX_ATTEMPTS: u32 = 32;

/// Makes prefixes created in the same nanosecond by the same process differ.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A reserved run prefix. The marker file exists exactly as long as this value (shared through
/// an `Arc` by a lab and its bpffs directories), so it outlives every resource that carries the
/// prefix.
#[derive(Debug)]
pub(crate) struct RunId {
    prefix: String,
    marker: PathBuf,
    /// Set by [`RunId::make_persistent`]: the run outlives its process (the demo lab).
    persistent: std::sync::atomic::AtomicBool,
}

impl RunId {
    /// Reserves a fresh prefix for the current process; `tag` is recorded in the marker file.
    pub(crate) fn reserve(tag: &str) -> Result<Arc<RunId>, LabError> {
        name::validate(tag)?;
        fs::create_dir_all(MARKER_DIR).map_err(|e| LabError::io(MARKER_DIR, e))?;
        let owner = Owner::current()?;
        for _ in 0..MAX_ATTEMPTS {
            let prefix = format!("{HEAD}{}", base36(next_seed()));
            if observe_plumbing::netns::list()
                .iter()
                .any(|ns| run_prefix_of(ns) == Some(prefix.as_str()))
            {
                continue;
            }
            let marker = marker_path(&prefix);
            if publish(&marker, &owner.render(tag))? {
                return Ok(Arc::new(RunId {
                    prefix,
                    marker,
                    persistent: std::sync::atomic::AtomicBool::new(false),
                }));
            }
        }
        Err(LabError::PrefixExhausted {
            attempts: MAX_ATTEMPTS,
        })
    }

    /// The prefix, `obs-` followed by six base36 characters.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Marks the run as outliving its process: the marker says `persistent` (so
    /// `cleanup_stale` leaves the run alone) and is kept when this value is dropped. Only
    /// [`crate::teardown`] removes such a run.
    pub(crate) fn make_persistent(&self) -> Result<(), LabError> {
        let tmp = self.marker.with_extension("persist");
        fs::write(&tmp, format!("{PERSISTENT}\n")).map_err(|e| LabError::io(&tmp, e))?;
        fs::rename(&tmp, &self.marker).map_err(|e| LabError::io(&self.marker, e))?;
        self.persistent.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// The marker content of a run that outlives its process.
const PERSISTENT: &str = "persistent";

impl Drop for RunId {
    fn drop(&mut self) {
        if self.persistent.load(Ordering::SeqCst) {
            return;
        }
        if let Err(e) = fs::remove_file(&self.marker)
            && e.kind() != ErrorKind::NotFound
        {
            eprintln!("lab: failed to remove {}: {e}", self.marker.display());
        }
    }
}

/// Creates `marker` with `content` atomically: it appears complete or not at all, so a
/// concurrent `cleanup_stale` never reads a half-written marker. Returns `false` when the marker
/// already exists (the prefix is taken).
fn publish(marker: &Path, content: &str) -> Result<bool, LabError> {
    let tmp = marker.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, content).map_err(|e| LabError::io(&tmp, e))?;
    let linked = fs::hard_link(&tmp, marker);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(LabError::io(marker, e)),
    }
}

/// The marker file of `prefix`.
pub(crate) fn marker_path(prefix: &str) -> PathBuf {
    Path::new(MARKER_DIR).join(format!("{prefix}.pid"))
}

/// Whether the run that owns `prefix` is still alive. A missing or unreadable marker means the
/// owner is gone: markers are published before any resource of the run is created.
pub(crate) fn owner_alive(prefix: &str) -> bool {
    let Ok(text) = fs::read_to_string(marker_path(prefix)) else {
        return false;
    };
    text.starts_with(PERSISTENT) || Owner::parse(&text).is_some_and(|owner| owner.is_alive())
}

/// If `name` is a run prefix or starts with one followed by `-`, returns that prefix.
pub(crate) fn run_prefix_of(name: &str) -> Option<&str> {
    let len = HEAD.len() + ID_LEN;
    let prefix = name.get(..len)?;
    let id_ok = prefix[HEAD.len()..]
        .bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    let rest_ok = name.len() == len || name[len..].starts_with('-');
    (prefix.starts_with(HEAD) && id_ok && rest_ok).then_some(prefix)
}

/// The process that owns a run: its pid plus its start time, so a recycled pid is not mistaken
/// for the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Owner {
    pid: u32,
    start_ticks: u64,
}

impl Owner {
    /// The current process.
    fn current() -> Result<Owner, LabError> {
        let pid = std::process::id();
        let start_ticks = start_ticks(pid).map_err(|e| LabError::io("/proc/self/stat", e))?;
        Ok(Owner { pid, start_ticks })
    }

    /// Whether this process still runs (same pid and same start time).
    fn is_alive(&self) -> bool {
        start_ticks(self.pid).is_ok_and(|ticks| ticks == self.start_ticks)
    }

    /// The marker file content.
    fn render(&self, tag: &str) -> String {
        format!(
            "pid={}\nstart_ticks={}\ntag={tag}\n",
            self.pid, self.start_ticks
        )
    }

    /// Parses what [`Owner::render`] wrote.
    fn parse(text: &str) -> Option<Owner> {
        let field = |key: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        };
        Some(Owner {
            pid: field("pid")?.parse().ok()?,
            start_ticks: field("start_ticks")?.parse().ok()?,
        })
    }
}

/// The start time of `pid` in clock ticks since boot (field 22 of `/proc/<pid>/stat`).
fn start_ticks(pid: u32) -> io::Result<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_start_ticks(&stat).ok_or_else(|| io::Error::new(ErrorKind::InvalidData, "bad stat"))
}

/// Extracts the start time from a `/proc/<pid>/stat` line. The command name (field 2) may
/// contain spaces and parentheses, so fields are counted from the last `)`.
fn parse_start_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // After the comm come fields 3 (state) onwards; field 22 is the 20th of those.
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

/// A seed mixing pid, wall-clock time and a process-wide counter.
fn next_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    splitmix64((u64::from(std::process::id()) << 32) ^ nanos ^ count.wrapping_mul(0x9e37_79b9))
}

/// The splitmix64 finalizer: spreads every input bit over the whole output.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The low [`ID_LEN`] base36 digits of `value` (digits and lowercase letters).
fn base36(mut value: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = [0u8; ID_LEN];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(value % 36) as usize];
        value /= 36;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base36_is_six_lowercase_alphanumerics() {
        assert_eq!(base36(0), "000000");
        assert_eq!(base36(35), "00000z");
        assert_eq!(base36(36), "000010");
        for seed in 0..100 {
            let id = base36(splitmix64(seed));
            assert_eq!(id.len(), ID_LEN);
            assert!(run_prefix_of(&format!("obs-{id}")).is_some(), "{id}");
        }
    }

    #[test]
    fn run_prefix_of_accepts_prefix_and_prefixed_names_only() {
        assert_eq!(run_prefix_of("obs-3k9f2a"), Some("obs-3k9f2a"));
        assert_eq!(run_prefix_of("obs-3k9f2a-node1"), Some("obs-3k9f2a"));
        assert_eq!(run_prefix_of("obs-3k9f2a.pid"), None);
        assert_eq!(run_prefix_of("obs-3K9F2A-node1"), None);
        assert_eq!(run_prefix_of("obs-3k9f2"), None);
        assert_eq!(run_prefix_of("obs-3k9f2anode1"), None);
        assert_eq!(run_prefix_of("lab-3k9f2a-node1"), None);
        assert_eq!(run_prefix_of("obs-é9f2a-x"), None);
    }

    #[test]
    fn owner_round_trips_through_marker_text() {
        let owner = Owner {
            pid: 4242,
            start_ticks: 987_654,
        };
        assert_eq!(Owner::parse(&owner.render("e2e")), Some(owner));
        assert_eq!(Owner::parse("pid=1\n"), None);
        assert_eq!(Owner::parse(""), None);
    }

    #[test]
    fn start_ticks_survives_odd_command_names() {
        let stat = "77 (a) b (c) S 1 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 \
                    1000 10 18446744073709551615";
        assert_eq!(parse_start_ticks(stat), Some(123_456));
        assert_eq!(parse_start_ticks("garbage"), None);
    }

    #[test]
    fn current_process_is_alive_and_a_dead_pid_is_not() {
        let me = Owner::current().unwrap();
        assert!(me.is_alive());
        let recycled = Owner {
            start_ticks: me.start_ticks + 1,
            ..me
        };
        assert!(!recycled.is_alive());
    }
}
