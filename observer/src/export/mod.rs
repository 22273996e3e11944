//! Flow export to JSON-lines files in Hubble's exporter format: one
//! `observer.ExportEvent` per line in the proto3 JSON mapping with proto field names,
//!
//! ```text
//! {"flow":{"time":"2026-11-26T05:00:00.123456789Z","verdict":"DROPPED",...},"node_name":"node-1","time":"2026-11-26T05:00:00.123456789Z"}
//! {"lost_events":{"source":"OBSERVER_EVENTS_QUEUE","num_events_lost":"12",...},"node_name":"node-1","time":"..."}
//! ```
//!
//! which `observe flows --input-file` and `hubble observe --input-file` replay. Flows pass
//! the allowlist and denylist (Hubble's FlowFilter semantics) and are cut down to the
//! field mask; loss reports are always written, since a gap in the file must be
//! explained. The file rotates by size (`rotate`).
//!
//! The exporter is a pipeline hook: it writes what reaches the ring, in ring order, and
//! flushes once per pipeline batch. Write errors are logged (at most once a minute) and
//! never stall the pipeline.

mod rotate;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use observe_filter::{self as filter, Compiled, FieldMask, FieldMaskError};
use observe_proto::flow::FlowFilter;
use observe_proto::observer::ExportEvent;
use observe_proto::observer::export_event::ResponseTypes;

use crate::event::EventView;
use crate::history::record::{export_header, to_export};
use crate::pipeline::OnDecodedFlow;
use rotate::RotatingFile;

pub use rotate::backup as backup_path;

/// Least time between two log lines about failing writes.
const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Exporter settings, as the `--export-*` flags give them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExportConfig {
    /// The file written.
    pub path: PathBuf,
    /// Size at which the file rotates.
    pub max_bytes: u64,
    /// Rotated files kept (`path.1` ... `path.N`).
    pub max_backups: usize,
    /// Flows must match one of these (all flows when empty).
    pub allowlist: Vec<FlowFilter>,
    /// Flows matching one of these are not written.
    pub denylist: Vec<FlowFilter>,
    /// Flow fields written (all when empty), as `GetFlowsRequest.field_mask` paths.
    pub field_mask: Vec<String>,
    /// Node name stamped on loss reports (flows carry their own).
    pub node_name: String,
}

/// Why the exporter cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A filter is invalid.
    #[error("invalid export filter: {0}")]
    Filter(#[from] filter::FilterError),
    /// A filter list is not JSON FlowFilters.
    #[error("invalid export filter list {text:?}: {reason}")]
    FilterJson {
        /// The text given.
        text: String,
        /// The parse error.
        reason: String,
    },
    /// A field mask path is unknown.
    #[error("invalid export field mask: {0}")]
    FieldMask(#[from] FieldMaskError),
    /// The file cannot be opened.
    #[error("cannot open export file {path}: {source}", path = path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The export hook; add it to the pipeline with `Pipeline::add_hook`.
pub struct Exporter {
    filters: Compiled,
    mask: Option<FieldMask>,
    node_name: String,
    file: RotatingFile,
    line: Vec<u8>,
    last_error_log: Option<Instant>,
}

impl Exporter {
    /// Compiles the filters and the field mask and opens the file.
    ///
    /// # Errors
    ///
    /// [`ExportError`] for invalid filters or mask paths, or a file that cannot be
    /// opened.
    pub fn new(config: &ExportConfig) -> Result<Self, ExportError> {
        let filters = filter::build(&config.allowlist, &config.denylist)?;
        let mask = FieldMask::new(&config.field_mask)?;
        if let Some(dir) = config.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| ExportError::Open {
                path: config.path.clone(),
                source,
            })?;
        }
        let file = RotatingFile::open(&config.path, config.max_bytes, config.max_backups).map_err(
            |source| ExportError::Open {
                path: config.path.clone(),
                source,
            },
        )?;
        Ok(Self {
            filters,
            mask,
            node_name: config.node_name.clone(),
            file,
            line: Vec::with_capacity(2048),
            last_error_log: None,
        })
    }

    /// Writes `event` if it passes (flows: the filters; loss reports: always).
    pub fn export(&mut self, view: &EventView<'_>) {
        let (event, flow) = (view.event(), view.flow());
        if let Some(flow) = flow
            && !self.filters.matches(flow)
        {
            return;
        }
        // The line's `time` and `node_name` come from the whole event, the mask only
        // cuts the flow body, as in Hubble's exporter.
        let body = match (flow, &self.mask) {
            (Some(flow), Some(mask)) => Some(mask.apply(flow)),
            (Some(flow), None) => Some(flow.clone()),
            (None, _) => None,
        };
        let export = match body {
            Some(flow) => ExportEvent {
                response_types: Some(ResponseTypes::Flow(flow)),
                ..export_header(event, &self.node_name)
            },
            None => to_export(event, &self.node_name),
        };
        self.line.clear();
        if serde_json::to_writer(&mut self.line, &export).is_err() {
            return;
        }
        self.line.push(b'\n');
        if let Err(e) = self.file.write_line(&self.line) {
            self.on_error(&e);
        }
    }

    /// Writes buffered lines out.
    pub fn flush(&mut self) {
        if let Err(e) = self.file.flush() {
            self.on_error(&e);
        }
    }

    fn on_error(&mut self, e: &std::io::Error) {
        let now = Instant::now();
        if self
            .last_error_log
            .is_none_or(|t| now.duration_since(t) >= LOG_INTERVAL)
        {
            self.last_error_log = Some(now);
            tracing::warn!(error = %e, "cannot write the flow export file");
        }
    }
}

impl OnDecodedFlow for Exporter {
    fn sees_flows(&self) -> bool {
        false
    }

    fn on_stored(&mut self, _position: u64, event: &EventView<'_>) {
        self.export(event);
    }

    fn on_batch_end(&mut self) {
        self.flush();
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.flush();
    }
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

/// Parses `--export-allowlist`/`--export-denylist`: JSON FlowFilters, as one array or
/// as objects one after the other (Hubble's form: `{"verdict":["DROPPED"]}{...}`),
/// optionally separated by commas.
///
/// # Errors
///
/// [`ExportError::FilterJson`] when the text is not that.
pub fn parse_filters(text: &str) -> Result<Vec<FlowFilter>, ExportError> {
    let invalid = |reason: String| ExportError::FilterJson {
        text: text.to_string(),
        reason,
    };
    let trimmed = text.trim();
    if trimmed.starts_with('[') {
        return serde_json::from_str(trimmed).map_err(|e| invalid(e.to_string()));
    }
    let mut filters = Vec::new();
    let mut rest = trimmed;
    while !rest.is_empty() {
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<FlowFilter>();
        match stream.next() {
            Some(Ok(filter)) => filters.push(filter),
            Some(Err(e)) => return Err(invalid(e.to_string())),
            None => break,
        }
        rest = rest[stream.byte_offset()..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(filters)
}

#[cfg(test)]
mod tests;
