//! What the proxy benchmarks share: each party (server, proxy) on a current-thread runtime
//! of its own thread, which also publishes the CPU time it used.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The CPU time one thread has used, in all and in the kernel, as that thread last
/// published it (ns).
#[derive(Clone, Default)]
pub struct ThreadCpu(Arc<[AtomicU64; 2]>);

impl ThreadCpu {
    /// (all, in the kernel), in ns.
    pub fn get(&self) -> (u64, u64) {
        (
            self.0[0].load(Ordering::Relaxed),
            self.0[1].load(Ordering::Relaxed),
        )
    }

    fn publish(&self) {
        self.0[0].store(thread_cpu_ns(), Ordering::Relaxed);
        self.0[1].store(thread_system_ns(), Ordering::Relaxed);
    }
}

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

/// This thread's system (kernel) time (`getrusage(RUSAGE_THREAD)`), in ns.
fn thread_system_ns() -> u64 {
    // SAFETY: an all-zero rusage is a valid value, which getrusage overwrites.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one rusage we own.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &raw mut usage) };
    let t = usage.ru_stime;
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000
        + u64::try_from(t.tv_usec).unwrap_or(0) * 1_000
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
                published.publish();
            }
        });
    });
    spawned.expect("spawn a runtime thread");
    (rx.recv().expect("address"), cpu)
}
