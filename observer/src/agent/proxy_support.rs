//! What both L7 proxies share in the agent: the agent's lock as their tasks take it, the
//! watch on a listener task, and the reporter that turns a proxy's reports into events in
//! the pipeline, with the notice of reports it never got (a full report channel) as a
//! lost-events record like any other loss.

use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Agent;
use super::proxy_view::{ProxyView, SharedProxyView};
use crate::event::{LostSource, MonitorEvent, Payload};
use crate::pipeline::EventSender;

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

/// Where a proxy's reporter sends its events.
pub(super) struct Reporter {
    /// The view the reports are read with.
    pub view: SharedProxyView,
    /// The pipeline.
    pub sender: EventSender,
    /// This node.
    pub node_name: Arc<str>,
    /// The proxy's running count of reports it could not queue.
    pub reports_lost: Arc<dyn Fn() -> u64 + Send + Sync>,
}

impl Reporter {
    /// Sends the events `events` makes of each report (their time and payload), then the
    /// losses since the last report, until the proxy or the pipeline stops.
    pub(super) async fn run<R>(
        self,
        mut rx: mpsc::Receiver<R>,
        events: impl Fn(&ProxyView, &R) -> Vec<(SystemTime, Payload)>,
    ) {
        let mut lost = LostReports::default();
        while let Some(report) = rx.recv().await {
            let made = match self.view.load() {
                Some(view) => events(&view, &report),
                None => Vec::new(),
            };
            for (timestamp, payload) in made {
                let event = MonitorEvent {
                    timestamp,
                    node_name: self.node_name.clone(),
                    payload,
                };
                if self.sender.send(event).is_err() {
                    return;
                }
            }
            if let Some(event) = lost.notice((self.reports_lost)(), &self.node_name)
                && self.sender.send(event).is_err()
            {
                return;
            }
        }
    }
}

/// Turns a proxy's count of lost reports into lost-event records, each loss once.
#[derive(Default)]
struct LostReports {
    reported: u64,
}

impl LostReports {
    /// The record of the losses since the last one, when `lost` (the proxy's running
    /// count) grew.
    fn notice(&mut self, lost: u64, node_name: &std::sync::Arc<str>) -> Option<MonitorEvent> {
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
