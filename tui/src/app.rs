//! The app's state and its one entry point, [`App::update`]: a plain struct changed only
//! by messages, with no I/O, so every behaviour is testable by feeding messages and
//! looking at the fields (or at a `TestBackend` drawing of them).
//!
//! Key handling is in `crate::keys`; this file handles everything that arrives from the
//! network and the clock.

use observe_proto::flow::Flow;
use ratatui::layout::Rect;

use crate::filter::FilterSpec;
use crate::layout::{self, Screen, Shape};
use crate::msg::{Cmd, Msg};
use crate::state::connection::Connection;
use crate::state::drops::DropStats;
use crate::state::endpoints::EndpointsView;
use crate::state::filter_editor::FilterEditor;
use crate::state::flow_buffer::FlowBuffer;
use crate::state::flow_table::TableView;
use crate::state::losses::Losses;
use crate::state::panels::{DetailView, Panel};
use crate::state::pause::Pause;
use crate::state::rates::Rates;
use crate::state::server::ServerView;
use observe_describe::sanitize::cleaned;
use observe_describe::verdict;

/// Settings the app starts with.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// The server address, for display.
    pub server: String,
    /// Flows kept for the table.
    pub capacity: usize,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            server: observe_proto::client::DEFAULT_SERVER.into(),
            capacity: 10_000,
        }
    }
}

/// The whole state of the dashboard.
#[derive(Clone, Debug)]
pub struct App {
    /// The server address (sanitized), for the header.
    pub server: String,
    /// The flow stream's state.
    pub connection: Connection,
    /// The last flows received (the table's rows).
    pub buffer: FlowBuffer,
    /// Selection and scrolling of the table.
    pub table: TableView,
    /// Pause state and the flows held while paused.
    pub pause: Pause,
    /// The filter in force and the `/` editor.
    pub filter: FilterEditor,
    /// Drop counters for the panels.
    pub drops: DropStats,
    /// Flows/s and drops/s.
    pub rates: Rates,
    /// Lost events per source.
    pub losses: Losses,
    /// The agent's status.
    pub agent: ServerView,
    /// Endpoints from the control API.
    pub endpoints: EndpointsView,
    /// The panel the bottom area shows.
    pub panel: Panel,
    /// The detail pane.
    pub detail: DetailView,
    /// Whether the help overlay is shown.
    pub help: bool,
    /// Flows received since the stream started with the current filter.
    pub received: u64,
    /// The terminal size.
    pub viewport: Rect,
}

impl App {
    /// A fresh app that will stream with `filter`.
    pub fn new(config: &AppConfig, filter: FilterSpec) -> Self {
        Self {
            server: cleaned(&config.server),
            connection: Connection::default(),
            buffer: FlowBuffer::new(config.capacity),
            table: TableView::default(),
            pause: Pause::new(config.capacity),
            filter: FilterEditor::new(filter),
            drops: DropStats::default(),
            rates: Rates::default(),
            losses: Losses::default(),
            agent: ServerView::default(),
            endpoints: EndpointsView::default(),
            panel: Panel::default(),
            detail: DetailView::default(),
            help: false,
            received: 0,
            viewport: Rect::new(0, 0, 120, 40),
        }
    }

    /// Applies one message; returns what the event loop must do, if anything.
    pub fn update(&mut self, msg: Msg) -> Option<Cmd> {
        match msg {
            Msg::Key(key) => return self.on_key(key),
            Msg::Resize(width, height) => self.viewport = Rect::new(0, 0, width, height),
            Msg::Tick => self.on_tick(),
            Msg::Flow(flow) => self.on_flow(flow),
            Msg::Lost(node, event) => self.losses.on_stream_event(&node, &event),
            Msg::Skipped(n) => self.losses.on_skipped(n),
            Msg::Connected => self.on_connected(),
            Msg::Disconnected(reason) => self.connection.failed(cleaned(&reason)),
            Msg::FilterRejected(reason) => return Some(self.on_filter_rejected(&reason)),
            Msg::Status(status) => self.on_status(&status),
            Msg::StatusUnavailable(reason) => self.agent.on_error(cleaned(&reason)),
            Msg::Endpoints(result) => self.endpoints.on_result(result.map_err(|e| cleaned(&e))),
        }
        None
    }

    fn on_tick(&mut self) {
        self.rates.tick();
        self.losses.tick();
    }

    fn on_flow(&mut self, flow: Box<Flow>) {
        self.received += 1;
        self.rates.record(verdict::is_drop_event(&flow));
        self.drops.record(&flow);
        if self.pause.is_paused() {
            self.pause.hold(flow);
        } else {
            self.buffer.push(flow);
        }
    }

    fn on_connected(&mut self) {
        self.connection = Connection::Connected;
        self.filter.accepted();
    }

    fn on_filter_rejected(&mut self, reason: &str) -> Cmd {
        let previous = self.filter.rejected(cleaned(reason));
        self.restart_with(previous)
    }

    fn on_status(&mut self, status: &observe_proto::observer::ServerStatusResponse) {
        self.agent.on_status(status);
        self.losses.on_status(&status.lost_events);
    }

    /// Starts over with `filter`: the old rows and counts describe other flows.
    pub(crate) fn restart_with(&mut self, filter: FilterSpec) -> Cmd {
        self.clear();
        self.connection = Connection::Connecting;
        Cmd::Stream(filter)
    }

    /// Forgets the rows and drop counts (the `c` key, and a new filter).
    pub(crate) fn clear(&mut self) {
        self.buffer.clear();
        self.pause.discard();
        self.table.end();
        self.drops = DropStats::default();
        self.received = 0;
        self.detail.scroll = 0;
    }

    /// The flow the detail pane shows: the selected one, else the newest.
    pub fn detail_flow(&self) -> Option<&Flow> {
        let seq = self.table.window(&self.buffer, self.table_rows()).selected;
        seq.or(self.buffer.last_seq())
            .and_then(|s| self.buffer.get(s))
    }

    /// Header lines: connection (and why it is down), this view, losses, then advice for
    /// lossy sources (one per source; only the first on short terminals).
    pub fn header_lines(&self) -> u16 {
        let reason = u16::from(matches!(self.connection, Connection::Reconnecting { .. }));
        3 + reason + self.advice_lines() as u16
    }

    /// How many lossy sources get an advice line.
    pub fn advice_lines(&self) -> usize {
        let room = if self.viewport.height >= 30 { 4 } else { 1 };
        self.losses.lossy().count().min(room)
    }

    /// Footer lines: the key hints; while editing a filter, the input and its error or
    /// hint, wrapped (at most 3 lines for it).
    pub fn footer_lines(&self) -> u16 {
        if !self.filter.editing {
            return 1;
        }
        let below = crate::ui::editor_note(&self.filter).chars().count();
        let width = usize::from(self.viewport.width.max(1));
        1 + below.div_ceil(width).clamp(1, 3) as u16
    }

    /// The layout for the current terminal size.
    pub fn screen(&self) -> Screen {
        self.screen_in(self.viewport)
    }

    /// The layout of `area`.
    pub fn screen_in(&self, area: Rect) -> Screen {
        let shape = Shape {
            header_lines: self.header_lines(),
            footer_lines: self.footer_lines(),
            detail_open: self.detail.open,
        };
        layout::screen(area, shape)
    }

    /// Flow rows visible at once (the page size).
    pub fn table_rows(&self) -> usize {
        match self.screen() {
            Screen::Tiny(area) => layout::tiny_rows(area),
            Screen::Full(areas) => layout::table_rows(areas.table),
        }
        .max(1)
    }
}
