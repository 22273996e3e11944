//! ICMP reachability through the system `ping` (iputils), run inside a namespace. Raw ICMP
//! sockets would need more unsafe code than this is worth.

use std::net::IpAddr;
use std::time::Duration;

use crate::error::LabError;
use crate::inside;

/// Pings `addr` from inside `netns`: `count` echo requests 200 ms apart, waiting up to `timeout`
/// for each reply (`ping -c count -W timeout`; at most about `0.2 s × (count − 1) + timeout`).
/// Returns `true` when at least one reply came back (ping's exit status 0).
///
/// # Errors
///
/// [`LabError::Plumbing`] when `ip`/`ping` cannot be started.
pub fn ping(netns: &str, addr: IpAddr, count: u32, timeout: Duration) -> Result<bool, LabError> {
    let count = count.max(1).to_string();
    // iputils accepts fractional seconds; a zero wait would mean "wait forever".
    let wait = format!("{:.3}", timeout.as_secs_f64().max(0.001));
    let family = if addr.is_ipv6() { "-6" } else { "-4" };
    let target = addr.to_string();
    let args = [
        family, "-n", "-q", "-c", &count, "-i", "0.2", "-W", &wait, &target,
    ];
    Ok(inside::exec(netns, "ping", &args)?.status.success())
}
