//! Converting datapath timestamps (`bpf_ktime_get_ns`, CLOCK_MONOTONIC since boot) to wall
//! clock time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use observe_proto::Timestamp;

/// The wall clock time at which the monotonic clock read zero: add a kernel timestamp to
/// get the event's wall clock time.
///
/// The agent computes it once at start as `now(CLOCK_REALTIME) - now(CLOCK_MONOTONIC)`.
/// The monotonic clock does not advance while the machine is suspended and the wall clock
/// may be stepped, so long-running agents may refresh it; events then shift by the step,
/// which is what Hubble shows too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootClock {
    boot_unix_nanos: i128,
}

impl BootClock {
    /// A clock whose monotonic zero was at `boot` (wall clock).
    pub fn new(boot: SystemTime) -> Self {
        Self {
            boot_unix_nanos: Timestamp::from(boot).unix_nanos(),
        }
    }

    /// A clock from the current wall clock time and the current monotonic reading.
    pub fn from_readings(wall_now: SystemTime, monotonic_now: Duration) -> Self {
        let wall = Timestamp::from(wall_now).unix_nanos();
        Self {
            boot_unix_nanos: wall - monotonic_now.as_nanos() as i128,
        }
    }

    /// A clock that maps monotonic nanoseconds straight to Unix time (for tests).
    pub fn unix_epoch() -> Self {
        Self::new(UNIX_EPOCH)
    }

    /// The wall clock time of kernel timestamp `ktime_ns`.
    pub fn wall_time(&self, ktime_ns: u64) -> Timestamp {
        Timestamp::from_unix_nanos(self.boot_unix_nanos + i128::from(ktime_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_time_is_offset_by_boot_time() {
        let boot = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let clock = BootClock::new(boot);
        let t = clock.wall_time(1_500_000_000);
        assert_eq!((t.seconds, t.nanos), (1_700_000_001, 500_000_000));
    }

    #[test]
    fn readings_give_the_same_offset() {
        let wall = UNIX_EPOCH + Duration::from_secs(1_700_000_100);
        let clock = BootClock::from_readings(wall, Duration::from_secs(100));
        assert_eq!(
            clock,
            BootClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(
            clock.wall_time(u64::MAX).seconds,
            1_700_000_000 + 18_446_744_073
        );
    }
}
