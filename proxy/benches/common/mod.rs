//! What the proxy benchmarks share: each party (server, proxy) on a current-thread runtime
//! of its own thread, which also publishes the CPU time it used.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The CPU time one thread has used, as that thread last published it (ns).
pub type ThreadCpu = Arc<AtomicU64>;

/// This thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), in ns.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts) };
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

/// Runs `make()`'s future on a current-thread runtime in its own thread named `name`; returns the
/// address it sends back, and the thread's CPU time, published every 10 ms.
pub fn spawn_thread_runtime<F, Fut>(name: &str, make: F) -> (SocketAddr, ThreadCpu)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = SocketAddr> + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let cpu = ThreadCpu::default();
    let published = cpu.clone();
    let thread = std::thread::Builder::new().name(name.into());
    let spawned = thread.spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async move {
            let addr = make().await;
            tx.send(addr).expect("send address");
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            loop {
                tick.tick().await;
                published.store(thread_cpu_ns(), Ordering::Relaxed);
            }
        });
    });
    spawned.expect("spawn a runtime thread");
    (rx.recv().expect("address"), cpu)
}
