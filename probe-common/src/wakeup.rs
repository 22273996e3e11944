//! How the datapath paces the wake-ups of the ring buffer's reader.
//!
//! Waking userspace for every event costs a context switch per event, which is what limits
//! a reader at high rates. So an event wakes the reader only when this CPU has not woken it
//! for [`INTERVAL_NS`], or, when [`PENDING_BYTES`] wait in the ring, for
//! [`PENDING_INTERVAL_NS`]; other events are written with `BPF_RB_NO_WAKEUP`. An event on
//! a quiet node still wakes the reader at once (the previous wake-up is long past), and
//! under load there are at most about a thousand wake-ups a second per CPU (ten thousand
//! while the ring fills), each draining many events. A forced wake-up costs the datapath
//! microseconds, so it is never done per event, even when the reader lags.
//!
//! The reader's side of the contract: after any wake-up, it looks at the ring again within
//! [`INTERVAL_NS`] whether or not it is woken, so an event written without a wake-up right
//! after one waits at most that long.

/// Longest time between two wake-ups from one CPU while events keep coming (1 ms).
pub const INTERVAL_NS: u64 = 1_000_000;

/// Bytes waiting in the ring that make a wake-up due sooner (1/16 of the ring: about
/// 3,000 events).
pub const PENDING_BYTES: u64 = (crate::maps::EVENTS_BYTES / 16) as u64;

/// Shortest time between two wake-ups from one CPU while [`PENDING_BYTES`] wait (100 µs).
pub const PENDING_INTERVAL_NS: u64 = 100_000;
