//! `observe tui`: an interactive terminal dashboard for live policy troubleshooting.
//!
//! A live flow table that keeps up with floods, the reasons and policies behind drops,
//! lost events with what to change, and for any flow the full policy explanation and the
//! commands that reproduce it. The CLI calls [`run`] with a channel to the agent.
//!
//! # Architecture (the Elm shape)
//!
//! ```text
//! terminal events ─┐                         ┌─▶ ui::render(&App, &mut Frame)  (20 fps, pure)
//! 1 s tick ────────┼─▶ Msg ─▶ App::update ───┤
//! flow stream ─────┤   (event_loop)          └─▶ Cmd: Quit | Stream(filter)
//! status/endpoints ┘
//! ```
//!
//! - [`msg`]: [`Msg`](msg::Msg), everything that changes state, and [`Cmd`](msg::Cmd).
//! - [`app`]: the [`App`](app::App) struct and `update`; `keys` maps keys per mode.
//! - [`state`]: the parts of `App`, one per widget, with no drawing.
//! - [`ui`]: drawing, one widget per file, a pure function of `&App`.
//! - [`layout`]: screen geometry shared by drawing and paging (and the tiny-terminal cut).
//! - Flows in words (names, reasons, policy explanations, reproduce commands) come from
//!   the `observe-describe` crate, which the CLI shares; every flow-supplied string is
//!   sanitized there, and widgets draw only what it returns or the app's own text.
//! - [`filter`]: the boundary to the `observe flows` flag parser.
//! - [`client`]: the tasks that talk to the agent (stream with reconnect, pollers).
//! - `terminal` (raw mode, alternate screen, panic hook) and `event_loop` run it.

#![warn(missing_docs)]

pub mod app;
pub mod client;
mod event_loop;
pub mod filter;
mod keys;
pub mod layout;
pub mod msg;
pub mod state;
mod terminal;
mod theme;
pub mod ui;

pub use event_loop::run;

/// How the CLI starts the dashboard.
#[derive(Clone, Debug)]
pub struct TuiOptions {
    /// The server address, shown in the header.
    pub server: String,
    /// The initial filter ([`filter::parse`] of an `observe flows` line; empty: every flow).
    pub filter: filter::FilterSpec,
    /// Flows kept for the table (the oldest are evicted).
    pub buffer: usize,
    /// Flows of history loaded when the stream starts or the filter changes.
    pub history: u64,
    /// Frames per second at most.
    pub fps: u32,
}
