//! The one loop: `tokio::select!` over terminal events (keys, resizes), the render
//! interval, the one-second tick, the flow stream's queue and the pollers' queue. Every
//! input becomes a [`Msg`] for `App::update`; drawing happens only on the render
//! interval, and only when something changed, so a flood of flows costs at most one
//! frame per interval.

use std::time::Duration;

use anyhow::{Context, Result};
use crossterm::event::{Event, EventStream};
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use crate::app::{App, AppConfig};
use crate::client::{self, FlowStream, StreamRequest};
use crate::filter::FilterSpec;
use crate::msg::{Cmd, Msg};
use crate::{TuiOptions, terminal, ui};

/// Messages taken from the stream queue per turn of the loop, so keys and frames are
/// never starved by a flood.
const DRAIN_BATCH: usize = 2048;

/// Runs the dashboard until the user quits.
///
/// # Errors
///
/// A terminal that cannot be set up or drawn on, or a failing terminal event stream.
pub async fn run(channel: Channel, options: TuiOptions) -> Result<()> {
    let initial = options.filter.clone();
    let config = AppConfig {
        server: options.server.clone(),
        capacity: options.buffer,
    };
    let mut app = App::new(&config, initial.clone());
    let mut guard = terminal::enter().context("cannot set up the terminal")?;
    let size = guard.terminal.size()?;
    app.update(Msg::Resize(size.width, size.height));
    let result = event_loop(&mut app, &mut guard, channel, initial, &options).await;
    drop(guard);
    result
}

async fn event_loop(
    app: &mut App,
    guard: &mut terminal::TerminalGuard,
    channel: Channel,
    initial: FilterSpec,
    options: &TuiOptions,
) -> Result<()> {
    let (poll_tx, mut poll_rx) = mpsc::channel(64);
    let pollers = client::spawn_pollers(channel.clone(), poll_tx);
    let spawn = |filter| {
        FlowStream::spawn(
            channel.clone(),
            StreamRequest {
                filter,
                history: options.history,
            },
        )
    };
    let mut stream = spawn(initial);
    let mut events = EventStream::new();
    let mut render = tokio::time::interval(frame_interval(options.fps));
    render.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut dirty = true;
    let outcome = loop {
        let cmd = tokio::select! {
            biased;
            event = events.next() => match event {
                Some(Ok(event)) => terminal_msg(event).and_then(|m| app.update(m)),
                Some(Err(err)) => break Err(err).context("reading terminal events"),
                None => Some(Cmd::Quit),
            },
            _ = render.tick() => {
                if dirty {
                    guard.terminal.draw(|frame| ui::render(app, frame))?;
                    dirty = false;
                }
                continue;
            }
            _ = tick.tick() => app.update(Msg::Tick),
            Some(msg) = stream.rx.recv() => drain(app, msg, &mut stream.rx),
            Some(msg) = poll_rx.recv() => app.update(msg),
        };
        dirty = true;
        match cmd {
            Some(Cmd::Quit) => break Ok(()),
            // Dropping the old stream aborts its task; its queued messages go with it, so
            // no flow of the old filter reaches the cleared table.
            Some(Cmd::Stream(filter)) => stream = spawn(filter),
            None => {}
        }
    };
    pollers.iter().for_each(tokio::task::JoinHandle::abort);
    outcome
}

/// Applies `first` and whatever else is queued, up to a batch; returns the command that
/// matters most (quit wins, else the latest restart).
fn drain(app: &mut App, first: Msg, rx: &mut mpsc::Receiver<Msg>) -> Option<Cmd> {
    let mut cmd = app.update(first);
    for _ in 0..DRAIN_BATCH {
        let Ok(msg) = rx.try_recv() else { break };
        match (app.update(msg), &cmd) {
            (_, Some(Cmd::Quit)) | (None, _) => {}
            (next, _) => cmd = next,
        }
    }
    cmd
}

/// The message of a terminal event, if it is one the app cares about.
fn terminal_msg(event: Event) -> Option<Msg> {
    match event {
        Event::Key(key) => Some(Msg::Key(key)),
        Event::Resize(width, height) => Some(Msg::Resize(width, height)),
        _ => None,
    }
}

fn frame_interval(fps: u32) -> Duration {
    Duration::from_secs(1) / fps.clamp(1, 120)
}
