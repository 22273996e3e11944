//! The nodes the relay reads from, each kept connected by a task of its own: dial (TLS
//! unless told otherwise), check health every few seconds with `ServerStatus`, and on a
//! failure mark the node unavailable and dial again with backoff. Streams that fail tell
//! the set ([`Peers::report_failure`]) so the check runs at once.
//!
//! Membership comes from discovery (static `--peer`s or the cluster's `nodes/` records);
//! [`Peers::set_members`] adds, removes and re-addresses nodes. Every change bumps a
//! version that streams watch ([`Peers::subscribe`]), so a follow stream learns that a
//! node came back, or is gone, without polling.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use observe_proto::client::{TlsOptions, connect_with, error_chain};
use observe_proto::observer::ServerStatusRequest;
use observe_proto::observer::observer_client::ObserverClient;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// How the relay reaches nodes.
#[derive(Clone, Debug)]
pub struct Dialer {
    /// The TLS settings; `None` is plaintext (`--disable-client-tls`).
    pub tls: Option<TlsOptions>,
    /// How long a dial may take.
    pub dial_timeout: Duration,
    /// The longest wait between dials of an unavailable node.
    pub retry_timeout: Duration,
    /// How often a connected node is checked.
    pub health_interval: Duration,
}

impl Default for Dialer {
    /// Hubble Relay's defaults: dial 5 s, retry 30 s, health check 5 s; TLS.
    fn default() -> Self {
        Self {
            tls: Some(TlsOptions {
                enabled: true,
                ..TlsOptions::default()
            }),
            dial_timeout: Duration::from_secs(5),
            retry_timeout: Duration::from_secs(30),
            health_interval: Duration::from_secs(5),
        }
    }
}

/// A node's connection state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerState {
    /// Not reached yet.
    Connecting,
    /// Connected and healthy.
    Connected,
    /// The last dial or check failed, with this error.
    Unavailable(String),
}

/// One node as streams see it.
#[derive(Clone, Debug)]
pub struct PeerView {
    /// Its name.
    pub name: String,
    /// Its observer's address.
    pub address: String,
    /// Whether it uses TLS.
    pub tls: bool,
    /// Its state.
    pub state: PeerState,
    /// The channel to it, while connected.
    pub channel: Option<Channel>,
}

struct Entry {
    view: PeerView,
    check: Arc<Notify>,
    task: JoinHandle<()>,
}

/// The set of nodes.
#[derive(Clone)]
pub struct Peers {
    inner: Arc<Inner>,
}

struct Inner {
    dialer: Dialer,
    entries: Mutex<BTreeMap<String, Entry>>,
    version: watch::Sender<u64>,
}

impl Peers {
    /// An empty set dialing with `dialer`.
    pub fn new(dialer: Dialer) -> Self {
        Self {
            inner: Arc::new(Inner {
                dialer,
                entries: Mutex::new(BTreeMap::new()),
                version: watch::channel(0).0,
            }),
        }
    }

    /// Makes the set exactly `members` (name → address): new nodes are dialed, missing
    /// ones dropped, moved ones dialed at their new address.
    pub fn set_members(&self, members: &BTreeMap<String, String>) {
        let mut entries = self.entries();
        let before = entries.len();
        let mut changed = false;
        entries.retain(|name, entry| {
            let keep = members.get(name) == Some(&entry.view.address);
            if !keep {
                entry.task.abort();
                changed = true;
            }
            keep
        });
        for (name, address) in members {
            if !entries.contains_key(name) {
                entries.insert(name.clone(), self.start(name, address));
                changed = true;
            }
        }
        drop(entries);
        if changed {
            tracing::info!(before, after = members.len(), "relay: peers changed");
            self.bump();
        }
    }

    /// Every node, by name.
    pub fn snapshot(&self) -> Vec<PeerView> {
        self.entries().values().map(|e| e.view.clone()).collect()
    }

    /// A receiver that changes whenever a node is added, removed or changes state.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.version.subscribe()
    }

    /// A stream from `name` failed: check the node now.
    pub fn report_failure(&self, name: &str) {
        if let Some(entry) = self.entries().get(name) {
            entry.check.notify_one();
        }
    }

    /// Stops every node's task.
    pub fn shutdown(&self) {
        for entry in self.entries().values() {
            entry.task.abort();
        }
    }

    fn entries(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        // A panic elsewhere cannot leave the map half-changed: every change is one call.
        self.inner
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn bump(&self) {
        self.inner.version.send_modify(|v| *v += 1);
    }

    fn start(&self, name: &str, address: &str) -> Entry {
        let check = Arc::new(Notify::new());
        let task = tokio::spawn(keep_connected(
            self.clone(),
            name.to_string(),
            address.to_string(),
            check.clone(),
        ));
        Entry {
            view: PeerView {
                name: name.to_string(),
                address: address.to_string(),
                tls: self.uses_tls(address),
                state: PeerState::Connecting,
                channel: None,
            },
            check,
            task,
        }
    }

    fn uses_tls(&self, address: &str) -> bool {
        address.starts_with("tls://")
            || address.starts_with("https://")
            || (self.inner.dialer.tls.is_some() && !address.starts_with("unix:"))
    }

    fn set_state(&self, name: &str, state: PeerState, channel: Option<Channel>) {
        let mut entries = self.entries();
        let Some(entry) = entries.get_mut(name) else {
            return;
        };
        if entry.view.state == state && channel.is_none() == entry.view.channel.is_none() {
            return;
        }
        match &state {
            PeerState::Connected => tracing::info!(peer = name, "relay: node connected"),
            PeerState::Unavailable(error) => {
                tracing::warn!(peer = name, %error, "relay: node unavailable");
            }
            PeerState::Connecting => {}
        }
        entry.view.state = state;
        entry.view.channel = channel;
        drop(entries);
        self.bump();
    }
}

/// Dials `address` until it answers, then checks it until it fails; forever.
async fn keep_connected(peers: Peers, name: String, address: String, check: Arc<Notify>) {
    let dialer = peers.inner.dialer.clone();
    let first_retry = Duration::from_millis(200).min(dialer.retry_timeout);
    let mut retry = first_retry;
    loop {
        let error = match dial(&dialer, &name, &address).await {
            Ok(channel) => {
                peers.set_state(&name, PeerState::Connected, Some(channel.clone()));
                retry = first_retry;
                watch_health(&dialer, channel, &check).await
            }
            Err(error) => error,
        };
        peers.set_state(&name, PeerState::Unavailable(error), None);
        tokio::select! {
            () = tokio::time::sleep(retry) => {}
            () = check.notified() => {}
        }
        retry = (retry * 2).min(dialer.retry_timeout);
    }
}

async fn dial(dialer: &Dialer, name: &str, address: &str) -> Result<Channel, String> {
    let tls = dialer
        .tls
        .as_ref()
        .map(|t| for_node(t, name))
        .unwrap_or_default();
    let channel = connect_with(address, dialer.dial_timeout, &tls)
        .await
        .map_err(|e| error_chain(&e))?;
    // A TCP connect is not an answer: ask the node once before calling it connected.
    status(dialer, channel.clone()).await?;
    Ok(channel)
}

/// The TLS settings for node `name`: `{node}` in the server name becomes the node's name
/// (Hubble's per-node certificates are issued for `<node>.<cluster>.hubble-grpc…`).
fn for_node(tls: &TlsOptions, name: &str) -> TlsOptions {
    TlsOptions {
        server_name: tls.server_name.as_ref().map(|s| s.replace("{node}", name)),
        ..tls.clone()
    }
}

/// Checks the node every `health_interval`, or at once when asked; returns the error
/// that ended it.
async fn watch_health(dialer: &Dialer, channel: Channel, check: &Notify) -> String {
    loop {
        tokio::select! {
            () = tokio::time::sleep(dialer.health_interval) => {}
            () = check.notified() => {}
        }
        if let Err(error) = status(dialer, channel.clone()).await {
            return error;
        }
    }
}

async fn status(dialer: &Dialer, channel: Channel) -> Result<(), String> {
    let mut client = ObserverClient::new(channel);
    let call = client.server_status(ServerStatusRequest {});
    match tokio::time::timeout(dialer.dial_timeout, call).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(status)) => Err(format!("ServerStatus: {}", status.message())),
        Err(_) => Err(format!(
            "ServerStatus: no answer in {:?}",
            dialer.dial_timeout
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_name_template_names_each_node() {
        let tls = TlsOptions {
            enabled: true,
            server_name: Some("{node}.default.hubble-grpc.cilium.io".into()),
            ..TlsOptions::default()
        };
        let n1 = for_node(&tls, "n1");
        assert_eq!(
            n1.server_name.as_deref(),
            Some("n1.default.hubble-grpc.cilium.io")
        );
        assert!(n1.enabled);
        let fixed = TlsOptions {
            server_name: Some("localhost".into()),
            ..tls
        };
        assert_eq!(
            for_node(&fixed, "n2").server_name.as_deref(),
            Some("localhost")
        );
    }
}
