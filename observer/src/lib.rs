//! The observer: turns datapath events into Hubble flows and serves them.
//!
//! ```text
//! ring-buffer source ──MonitorEvent──▶ EventSender ─▶ bounded queue ─▶ Pipeline::run
//!                                                                       │ decode (getters)
//!                                                                       │ hooks (metrics, ...)
//!                                                                       ▼
//!                                           ObserverService ◀── flow ring (bounded history)
//!                                           (GetFlows, ServerStatus, ...)
//! ```
//!
//! - [`event`]: the pipeline's input ([`event::MonitorEvent`]) and stored events.
//! - [`getters`]: enrichment interfaces the agent implements.
//! - [`decode`]: `FlowEvent` → `flow::Flow`.
//! - [`ring`], [`ring_reader`]: the bounded flow history.
//! - [`pipeline`]: the single loop from queue to ring; [`losses`], [`stats`] and
//!   [`namespaces`] hold what it counts.
//! - [`server`]: the `observer.Observer` gRPC service; [`listen`]: what every listener
//!   serves next to it (health, reflection) and TLS.
//! - [`history`]: the optional on-disk store of flows older than the ring.
//! - [`metrics`]: Prometheus metrics (Hubble's families, agent health) over HTTP.
//! - [`export`]: flow export to rotated JSON-lines files (Hubble's exporter format).

#![warn(missing_docs)]

#[cfg(feature = "agent")]
pub mod agent;
pub mod decode;
pub mod event;
pub mod export;
pub mod getters;
pub mod history;
pub mod l7;
pub mod listen;
pub mod losses;
pub mod metrics;
pub mod namespaces;
pub mod pipeline;
pub mod ring;
pub mod ring_reader;
pub mod rule_hits;
pub mod server;
pub mod stats;
