//! The offset between the kernel's monotonic clock (event timestamps) and wall-clock time.

use std::time::{Duration, SystemTime};

use crate::decode::BootClock;

/// `CLOCK_MONOTONIC` now, in nanoseconds (what `bpf_ktime_get_ns` returns).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; clock_gettime only writes it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

/// A boot clock for the decoder, read now.
pub fn boot_clock() -> BootClock {
    BootClock::from_readings(SystemTime::now(), Duration::from_nanos(monotonic_ns()))
}
