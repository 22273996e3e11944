//! `GetFlows` reading the on-disk history: the part of a request older than the ring
//! (streamed before the ring), and the flows a lapped reader missed (refilled in place).
//!
//! Sequence numbers make the seam exact: the ring position `p` is the disk record
//! `base + p`, so "everything before the ring reader" is the disk range
//! `[start, base + reader position)`. Where the request starts on disk:
//!
//! | request               | disk start                                               |
//! |-----------------------|----------------------------------------------------------|
//! | `first`, or nothing   | the oldest stored event (or the first at/after `since`)  |
//! | `number` N (latest)   | the N − (ring matches) last matching flows before the ring |
//! | `since`               | the first stored event at or after `since`               |
//!
//! When the request reaches past the oldest stored event and events were deleted to
//! hold the cap, the stream starts with the same notice as without a store (see
//! [`super::get_flows::history_notice`]): the response `time` says where history starts.
//!
//! Disk reads are blocking; they run on tokio's blocking pool and send with
//! `blocking_send`, so the async workers never wait on the disk.

use std::ops::ControlFlow;
use std::sync::Arc;

use observe_proto::Timestamp;
use observe_proto::flow::Flow;

use super::get_flows::{
    FlowQuery, Responses, Reuse, deliver, history_notice, on_event, on_overtaken,
};
use crate::history::History;
use crate::history::reader::Item;
use crate::pipeline::ObserverState;

/// What a disk read needs, cloned for the blocking pool.
pub(super) struct Disk {
    history: Arc<History>,
    state: ObserverState,
    query: Arc<FlowQuery>,
    tx: Responses,
}

/// The disk range to stream, and whether the request reaches past its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Plan {
    from: u64,
    to: u64,
    reaches_start: bool,
}

impl Disk {
    pub(super) fn new(
        history: &Arc<History>,
        state: &ObserverState,
        query: &Arc<FlowQuery>,
        tx: &Responses,
    ) -> Self {
        Self {
            history: Arc::clone(history),
            state: state.clone(),
            query: Arc::clone(query),
            tx: tx.clone(),
        }
    }

    /// Streams what the request wants from before the ring reader's `position`, given
    /// that the ring already matched `matched` flows; `Continue` with the flows sent so
    /// far, `Break` when the stream is over.
    pub(super) async fn before_ring(
        self,
        position: u64,
        matched: u64,
        sent: u64,
    ) -> ControlFlow<(), u64> {
        self.blocking(move |disk| {
            let plan = disk.plan(position, matched);
            if plan.reaches_start {
                disk.notice()?;
            }
            disk.stream(plan.from, plan.to, sent)
        })
        .await
    }

    /// Streams the `count` events a lapped ring reader missed before `position`.
    pub(super) async fn refill(self, position: u64, count: u64, sent: u64) -> ControlFlow<(), u64> {
        self.blocking(move |disk| {
            let to = disk.history.base() + position;
            disk.stream(to.saturating_sub(count), to, sent)
        })
        .await
    }

    async fn blocking(
        self,
        work: impl FnOnce(&Self) -> ControlFlow<(), u64> + Send + 'static,
    ) -> ControlFlow<(), u64> {
        tokio::task::spawn_blocking(move || work(&self))
            .await
            .unwrap_or(ControlFlow::Break(()))
    }

    fn plan(&self, position: u64, matched: u64) -> Plan {
        let (history, query) = (&self.history, &self.query);
        let to = history.base() + position;
        let Some((oldest_seq, oldest_time)) = history.oldest() else {
            return Plan {
                from: to,
                to,
                reaches_start: true,
            };
        };
        let before_disk = |since: i128| oldest_time.is_none_or(|t| since < t.unix_nanos());
        let at_since = |since| history.seq_at_time(since, to).unwrap_or(to);
        if query.first || (query.number == 0 && query.since.is_none()) {
            return Plan {
                from: query.since.map_or(oldest_seq, at_since),
                to,
                reaches_start: query.since.is_none_or(before_disk),
            };
        }
        if query.number == 0 {
            let since = query.since.unwrap_or(i128::MIN);
            return Plan {
                from: at_since(since),
                to,
                reaches_start: before_disk(since),
            };
        }
        let wanted = query.number.saturating_sub(matched);
        let mut scratch = Flow::default();
        let (from, found) = history.scan_back(to, wanted, |event| {
            query.in_window(event) && query.passes(event, &mut scratch)
        });
        Plan {
            from,
            to,
            reaches_start: found < wanted && query.since.is_none_or(before_disk),
        }
    }

    /// Sends the "history starts here" notice if events were deleted to hold the cap.
    fn notice(&self) -> ControlFlow<(), u64> {
        let discarded = self.history.discarded();
        if discarded.events == 0 {
            return ControlFlow::Continue(0);
        }
        let time = |ns: i64| (ns != 0).then(|| Timestamp::from_unix_nanos(ns.into()));
        let start = self.history.oldest().and_then(|(_, t)| t);
        let notice = history_notice(
            &self.state,
            discarded.events,
            time(discarded.first_time),
            time(discarded.last_time),
            start,
        );
        match self.tx.blocking_send(Ok(notice)) {
            Ok(()) => ControlFlow::Continue(0),
            Err(_) => ControlFlow::Break(()),
        }
    }

    /// Streams the disk events `[from, to)` through the query, as the ring loop does.
    fn stream(&self, from: u64, to: u64, mut sent: u64) -> ControlFlow<(), u64> {
        let mut over = false;
        let mut reuse = Reuse::default();
        self.history.read(from, to, |item| {
            let step = match item {
                Item::Event(_, event) => on_event(&self.state, &self.query, &mut reuse, &event),
                Item::Gap(count) => on_overtaken(&self.state, count),
            };
            let response = match deliver(step, &mut sent) {
                ControlFlow::Continue(Some(response)) => response,
                ControlFlow::Continue(None) => return ControlFlow::Continue(()),
                ControlFlow::Break(()) => {
                    over = true;
                    return ControlFlow::Break(());
                }
            };
            if self.tx.blocking_send(Ok(response)).is_err() || self.query.done(sent) {
                over = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        if over {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(sent)
        }
    }
}
