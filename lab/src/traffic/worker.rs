//! The background thread behind the echo servers: it binds a socket inside a namespace, reports
//! the outcome to the caller, then serves until its [`Worker`] guard is dropped.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::LabError;
use observe_plumbing::netns;

/// How often a serving loop checks whether it should stop.
pub(super) const POLL: Duration = Duration::from_millis(20);

/// A stop flag shared with a serving loop.
pub(super) type StopFlag = Arc<AtomicBool>;

/// Whether the flag says stop.
pub(super) fn stopped(flag: &AtomicBool) -> bool {
    flag.load(Ordering::Relaxed)
}

/// Owns a serving thread; dropping it stops and joins the thread.
#[derive(Debug)]
pub(super) struct Worker {
    stop: StopFlag,
    handle: Option<JoinHandle<()>>,
}

impl Worker {
    /// In a new thread inside `netns`, runs `bind` and, if it succeeds, `serve` with the socket
    /// and the stop flag. Returns once `bind` has finished, with the bound address. `addr` is
    /// the requested address, for the error message.
    pub(super) fn start<S>(
        netns: &str,
        addr: SocketAddr,
        bind: impl FnOnce() -> io::Result<(S, SocketAddr)> + Send + 'static,
        serve: impl FnOnce(S, StopFlag) + Send + 'static,
    ) -> Result<(Worker, SocketAddr), LabError> {
        let stop = StopFlag::default();
        let flag = Arc::clone(&stop);
        let (bound_tx, bound_rx) = mpsc::sync_channel(1);
        let handle = netns::spawn_in(netns, move || match bind() {
            Ok((socket, local)) => {
                // The receiver waits for exactly this message, so sending cannot fail.
                let _ = bound_tx.send(Ok(local));
                serve(socket, flag);
            }
            Err(e) => {
                let _ = bound_tx.send(Err(e));
            }
        })?;
        let bind_error = |source| LabError::Bind {
            netns: netns.to_owned(),
            addr,
            source,
        };
        let bound = bound_rx
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("server thread ended")));
        let worker = Worker {
            stop,
            handle: Some(handle),
        };
        // On a bind error, dropping `worker` joins the thread, which has already ended.
        bound.map(|local| (worker, local)).map_err(bind_error)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take()
            && handle.join().is_err()
        {
            eprintln!("lab: a traffic server thread panicked");
        }
    }
}
