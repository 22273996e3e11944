//! What the dashboard costs: the time to draw one frame with 10,000 flows buffered (the
//! render interval is 50 ms at 20 fps), and how many flows per second `App::update`
//! absorbs (the stream's rate above which the UI queue fills and rows are skipped).
//!
//! Plain `std::time`, no harness: `cargo bench -p observe-tui --bench frame`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use observe_proto::flow::Flow;
use observe_tui::app::{App, AppConfig};
use observe_tui::filter::FilterSpec;
use observe_tui::msg::Msg;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const BUFFERED: usize = 10_000;
const FRAMES: usize = 300;
const UPDATE_FLOWS: usize = 1_000_000;
/// Distinct flows cycled through (decoded once; cloned per update like a fresh decode).
const DISTINCT: usize = 600;

fn main() {
    let flows = support::fixtures::mixed_flows(DISTINCT);
    let mut app = full_app(&flows);
    report_render("following the newest flows", &mut app);
    app.update(key(KeyCode::PageUp));
    app.update(key(KeyCode::PageUp));
    report_render("a flow selected, scrolled back", &mut app);
    app.update(key(KeyCode::Enter));
    report_render("detail pane open", &mut app);
    report_update("mixed", &flows);
    let forwarded: Vec<Flow> = flows.iter().filter(|f| f.verdict == 1).cloned().collect();
    report_update("forwarded only", &forwarded);
    let drops: Vec<Flow> = flows.iter().filter(|f| f.verdict == 2).cloned().collect();
    report_update("drops only", &drops);
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// A connected app at 120×40 with a full buffer.
fn full_app(flows: &[Flow]) -> App {
    let config = AppConfig {
        capacity: BUFFERED,
        ..AppConfig::default()
    };
    let mut app = App::new(&config, FilterSpec::none());
    app.update(Msg::Resize(120, 40));
    app.update(Msg::Connected);
    for flow in flows.iter().cycle().take(BUFFERED) {
        app.update(Msg::Flow(Box::new(flow.clone())));
    }
    app.update(Msg::Tick);
    app
}

fn report_render(what: &str, app: &mut App) {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
    let mut times = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        let start = Instant::now();
        terminal
            .draw(|frame| observe_tui::ui::render(app, frame))
            .expect("draws");
        times.push(start.elapsed());
        // A changed frame each time, as in a live stream: one new flow per frame.
        black_box(terminal.backend());
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / FRAMES as u32;
    let p99 = times[FRAMES * 99 / 100];
    println!(
        "render 120x40, {BUFFERED} flows buffered, {what}: mean {:.3} ms, p99 {:.3} ms per frame ({:.1}% of a 50 ms frame)",
        ms(mean),
        ms(p99),
        ms(mean) / 50.0 * 100.0
    );
}

fn report_update(what: &str, flows: &[Flow]) {
    let mut app = full_app(flows);
    // Clone outside the clock: the agent's decoder allocates each flow, not the UI.
    let batch: Vec<Box<Flow>> = flows.iter().map(|f| Box::new(f.clone())).collect();
    let mut elapsed = Duration::ZERO;
    let mut done = 0;
    while done < UPDATE_FLOWS {
        let mut this = batch.clone();
        let start = Instant::now();
        for flow in this.drain(..) {
            app.update(Msg::Flow(flow));
        }
        elapsed += start.elapsed();
        done += batch.len();
    }
    let drops = flows.iter().filter(|f| f.verdict == 2).count() * 100 / flows.len();
    println!(
        "update, {what}: {:.0} flows/s through App::update ({done} flows, {drops}% drops, buffer full so every flow evicts one; {:.0} ns per flow)",
        done as f64 / elapsed.as_secs_f64(),
        elapsed.as_nanos() as f64 / done as f64
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
