//! A unix-socket forwarder in front of a node that can be frozen: while frozen it moves
//! no bytes either way, so the node looks hung (connections open, nothing answered), the
//! failure a crash does not show.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

/// The forwarder; dropping it stops accepting (open connections end with the test).
pub struct Freezer {
    frozen: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Freezer {
    /// Forwards connections to `listen` on to the socket `to`.
    pub fn start(listen: &Path, to: &Path) -> Self {
        let listener = UnixListener::bind(listen).expect("bind the forwarder");
        let frozen = Arc::new(AtomicBool::new(false));
        let to = to.to_path_buf();
        let flag = frozen.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(node) = UnixStream::connect(&to).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (nr, nw) = node.into_split();
                tokio::spawn(pipe(cr, nw, flag.clone()));
                tokio::spawn(pipe(nr, cw, flag.clone()));
            }
        });
        Self { frozen, task }
    }

    /// Stops (or resumes) moving bytes.
    pub fn freeze(&self, frozen: bool) {
        self.frozen.store(frozen, Ordering::SeqCst);
    }
}

impl Drop for Freezer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pipe(
    mut from: tokio::net::unix::OwnedReadHalf,
    mut to: tokio::net::unix::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
