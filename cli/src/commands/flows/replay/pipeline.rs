//! Reading on other threads, printing on this one: reader threads take the input's
//! chunks in turn ([`Source`]) and read, choose and render their lines ([`Batch`]); this
//! thread gets the batches back in input order. A fixed set of batches goes round (read,
//! printed, read again), which bounds memory.
//!
//! The threads are not joined: when the replay stops early (the first N were printed, or
//! a line failed) they stop at their next step, and one waiting for stdin ends with the
//! process.

use std::collections::BTreeMap;
use std::io::Read;
use std::num::NonZero;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};

use anyhow::{Result, bail};

use super::batch::{Batch, Reading};
use super::source::Source;

/// Batches going round: enough for every reader to work while this thread prints.
const BATCHES: usize = 6;
/// Reader threads at most (one printing thread besides).
const MAX_READERS: usize = 2;

/// The batches of one input, in order.
pub struct Pipeline {
    read: Receiver<Batch>,
    free: SyncSender<Batch>,
    /// Batches that came back ahead of their turn.
    early: BTreeMap<u64, Batch>,
    next: u64,
}

impl Pipeline {
    /// Starts reading `input` on as many threads as there are processors (at most
    /// [`MAX_READERS`]), each with its own `reading()`.
    pub fn start(input: Box<dyn Read + Send>, reading: impl Fn() -> Reading) -> Self {
        let source = Arc::new(Mutex::new(Source::new(input)));
        let (free, free_batches) = sync_channel(BATCHES);
        for _ in 0..BATCHES {
            let _ = free.try_send(Batch::default());
        }
        let free_batches = Arc::new(Mutex::new(free_batches));
        let (done, read) = channel();
        let readers = std::thread::available_parallelism().map_or(1, NonZero::get);
        for _ in 0..readers.clamp(1, MAX_READERS) {
            let (source, free_batches, done) = (source.clone(), free_batches.clone(), done.clone());
            let mut reading = reading();
            std::thread::spawn(move || read_batches(&source, &free_batches, &done, &mut reading));
        }
        Self {
            read,
            free,
            early: BTreeMap::new(),
            next: 0,
        }
    }

    /// The next batch in input order; `None` after the last.
    ///
    /// # Errors
    ///
    /// A reader thread stopped before handing its batch back.
    pub fn next_batch(&mut self) -> Result<Option<Batch>> {
        loop {
            if let Some(batch) = self.early.remove(&self.next) {
                self.next += 1;
                return Ok(Some(batch));
            }
            match self.read.recv() {
                Ok(batch) => {
                    self.early.insert(batch.seq, batch);
                }
                Err(_) if self.early.is_empty() => return Ok(None),
                Err(_) => bail!("a replay reader thread stopped"),
            }
        }
    }

    /// Hands a printed batch back to the readers.
    pub fn recycle(&self, batch: Batch) {
        let _ = self.free.try_send(batch);
    }
}

/// A reader thread: a free batch, the next chunk into it, its lines read, handed over;
/// until the input ends or nobody takes batches any more.
fn read_batches(
    source: &Mutex<Source>,
    free_batches: &Mutex<Receiver<Batch>>,
    done: &Sender<Batch>,
    reading: &mut Reading,
) {
    loop {
        let Some(mut batch) = free_batches.lock().ok().and_then(|free| free.recv().ok()) else {
            return;
        };
        let chunk = match source.lock() {
            Ok(mut source) => source.next_chunk(&mut batch.bytes),
            Err(_) => None,
        };
        let Some(chunk) = chunk else {
            return;
        };
        batch.read(chunk, reading);
        if done.send(batch).is_err() {
            return;
        }
    }
}
