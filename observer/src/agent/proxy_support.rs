//! What both L7 proxies share in the agent: the agent's lock as their tasks take it, the
//! watch on a listener task, and the notice of reports the pipeline never got (a full
//! report channel), which becomes a lost-events record like any other loss.

use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use tokio::task::JoinHandle;

use super::Agent;
use crate::event::{LostSource, MonitorEvent, Payload};

/// The agent, also after a panic elsewhere poisoned its lock.
pub(super) fn lock(agent: &Mutex<Agent>) -> MutexGuard<'_, Agent> {
    agent
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Logs why the `proxy`'s listener task `task` stopped, if it did.
pub(super) fn watch(proxy: &'static str, task: JoinHandle<std::io::Result<()>>) {
    tokio::spawn(async move {
        match task.await {
            Ok(Err(e)) => tracing::error!("the {proxy} proxy stopped: {e}"),
            Err(e) => tracing::error!("the {proxy} proxy stopped: {e}"),
            Ok(Ok(())) => {}
        }
    });
}

/// Turns a proxy's count of lost reports into lost-event records, each loss once.
#[derive(Default)]
pub(super) struct LostReports {
    reported: u64,
}

impl LostReports {
    /// The record of the losses since the last one, when `lost` (the proxy's running
    /// count) grew.
    pub(super) fn notice(
        &mut self,
        lost: u64,
        node_name: &std::sync::Arc<str>,
    ) -> Option<MonitorEvent> {
        if lost <= self.reported {
            return None;
        }
        let count = lost - self.reported;
        self.reported = lost;
        Some(MonitorEvent {
            timestamp: SystemTime::now(),
            node_name: node_name.clone(),
            payload: Payload::Lost {
                source: LostSource::EventQueue,
                count,
                cpu: None,
            },
        })
    }
}
