//! State-update tests: every key, and every message, through `App::update` alone (no
//! terminal, no network).

mod support;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use observe_proto::flow::{LostEvent, LostEventSource};
use observe_proto::observer::ServerStatusResponse;
use observe_tui::app::{App, AppConfig};
use observe_tui::filter::{self, FilterSpec};
use observe_tui::msg::{Cmd, Msg};
use observe_tui::state::connection::Connection;
use observe_tui::state::losses::LossSource;
use observe_tui::state::panels::Panel;
use support::fixtures;

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn press(app: &mut App, codes: &[KeyCode]) -> Vec<Option<Cmd>> {
    codes.iter().map(|c| app.update(key(*c))).collect()
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(key(KeyCode::Char(c)));
    }
}

/// An 120×40 app with `n` flows (100 ms apart), connected.
fn app_with(n: usize) -> App {
    let mut app = App::new(&AppConfig::default(), FilterSpec::none());
    app.update(Msg::Resize(120, 40));
    app.update(Msg::Connected);
    for flow in fixtures::mixed_flows(n) {
        app.update(Msg::Flow(Box::new(flow)));
    }
    app
}

#[test]
fn q_quits() {
    assert_eq!(app_with(0).update(key(KeyCode::Char('q'))), Some(Cmd::Quit));
}

#[test]
fn ctrl_c_quits_even_while_editing_a_filter() {
    let mut app = app_with(0);
    app.update(key(KeyCode::Char('/')));
    assert_eq!(app.update(ctrl('c')), Some(Cmd::Quit));
}

#[test]
fn key_releases_are_ignored() {
    let mut app = app_with(0);
    let release = KeyEvent::new_with_kind(
        KeyCode::Char('q'),
        KeyModifiers::NONE,
        KeyEventKind::Release,
    );
    assert_eq!(app.update(Msg::Key(release)), None);
}

#[test]
fn slash_opens_the_filter_editor_with_the_filter_in_force() {
    let active = filter::parse("--verdict DROPPED").unwrap();
    let mut app = App::new(&AppConfig::default(), active);
    app.update(key(KeyCode::Char('/')));
    assert!(app.filter.editing);
    assert_eq!(
        (app.filter.input.as_str(), app.filter.cursor),
        ("--verdict DROPPED", 17)
    );
}

#[test]
fn typing_in_the_editor_edits_the_line_and_q_is_a_letter_there() {
    let mut app = app_with(0);
    app.update(key(KeyCode::Char('/')));
    typed(&mut app, "--verdict DROPPEDq");
    assert_eq!(app.update(key(KeyCode::Backspace)), None);
    press(
        &mut app,
        &[
            KeyCode::Home,
            KeyCode::Delete,
            KeyCode::Right,
            KeyCode::Left,
        ],
    );
    assert_eq!(app.filter.input, "-verdict DROPPED");
    app.update(key(KeyCode::Char('-')));
    app.update(key(KeyCode::End));
    assert_eq!(
        (app.filter.input.as_str(), app.filter.cursor),
        ("--verdict DROPPED", 17)
    );
    app.update(ctrl('a'));
    assert_eq!(app.filter.cursor, 0);
    app.update(ctrl('e'));
    assert_eq!(app.filter.cursor, 17);
    app.update(ctrl('u'));
    assert!(app.filter.input.is_empty() && app.filter.editing);
}

#[test]
fn enter_in_the_editor_applies_a_valid_filter_by_restarting_the_stream_and_clearing_the_table() {
    let mut app = app_with(12);
    app.update(key(KeyCode::Char('/')));
    typed(&mut app, "--verdict DROPPED --not --to-port 53");
    let cmd = app.update(key(KeyCode::Enter));
    let Some(Cmd::Stream(spec)) = cmd else {
        panic!("restarts the stream: {cmd:?}")
    };
    assert_eq!(spec.line, "--verdict DROPPED --not --to-port 53");
    assert_eq!(
        (spec.filters.whitelist.len(), spec.filters.blacklist.len()),
        (1, 1)
    );
    assert!(!app.filter.editing && app.filter.active == spec);
    assert!(
        app.buffer.is_empty() && app.drops.total() == 0,
        "old rows describe other flows"
    );
    assert_eq!(app.connection, Connection::Connecting);
}

#[test]
fn enter_in_the_editor_keeps_an_invalid_filter_in_the_editor_and_the_old_one_in_force() {
    let mut app = app_with(6);
    app.update(key(KeyCode::Char('/')));
    typed(&mut app, "--verdict NOPE");
    assert_eq!(app.update(key(KeyCode::Enter)), None);
    assert!(app.filter.editing);
    assert!(app.filter.error.as_deref().unwrap().contains("--verdict"));
    assert!(app.filter.active.is_empty());
    assert_eq!(app.buffer.len(), 6, "nothing was cleared");
}

#[test]
fn esc_in_the_editor_cancels_without_changing_the_filter() {
    let mut app = app_with(0);
    app.update(key(KeyCode::Char('/')));
    typed(&mut app, "--verdict DROPPED");
    assert_eq!(app.update(key(KeyCode::Esc)), None);
    assert!(!app.filter.editing && app.filter.active.is_empty());
}

#[test]
fn a_filter_the_agent_rejects_reopens_the_editor_and_restores_the_previous_filter() {
    let mut app = app_with(0);
    app.update(key(KeyCode::Char('/')));
    typed(&mut app, "--verdict DROPPED");
    app.update(key(KeyCode::Enter));
    let cmd = app.update(Msg::FilterRejected("invalid filter: \u{1b}[31mbad".into()));
    assert_eq!(
        cmd,
        Some(Cmd::Stream(FilterSpec::none())),
        "back to the previous filter"
    );
    assert!(app.filter.editing && app.filter.input == "--verdict DROPPED");
    assert!(
        app.filter.error.as_deref().unwrap().contains("^[[31mbad"),
        "sanitized"
    );
}

#[test]
fn space_pauses_and_resumes_and_flows_held_while_paused_appear_on_resume() {
    let mut app = app_with(3);
    app.update(key(KeyCode::Char(' ')));
    assert!(app.pause.is_paused());
    for flow in fixtures::mixed_flows(4) {
        app.update(Msg::Flow(Box::new(flow)));
    }
    assert_eq!(
        (app.buffer.len(), app.pause.arrived()),
        (3, 4),
        "the table is frozen"
    );
    assert_eq!(app.drops.total(), 1 + 1, "counters keep counting");
    app.update(key(KeyCode::Char(' ')));
    assert!(!app.pause.is_paused());
    assert_eq!(app.buffer.len(), 7);
}

#[test]
fn up_and_k_select_older_flows_down_and_j_newer_ones() {
    let mut app = app_with(10);
    app.update(key(KeyCode::Up));
    assert_eq!(
        app.table.selected,
        Some(9),
        "the first move selects the newest"
    );
    press(&mut app, &[KeyCode::Char('k'), KeyCode::Up]);
    assert_eq!(app.table.selected, Some(7));
    press(
        &mut app,
        &[
            KeyCode::Down,
            KeyCode::Char('j'),
            KeyCode::Down,
            KeyCode::Down,
        ],
    );
    assert_eq!(app.table.selected, Some(9), "stops at the newest");
}

#[test]
fn page_up_and_page_down_move_by_a_page() {
    let mut app = app_with(100);
    let page = app.table_rows() as u64;
    app.update(key(KeyCode::PageUp));
    assert_eq!(app.table.selected, Some(99 - (page - 1)));
    app.update(key(KeyCode::PageUp));
    app.update(key(KeyCode::PageDown));
    assert_eq!(app.table.selected, Some(99 - (page - 1)));
}

#[test]
fn home_and_g_select_the_oldest_flow_end_and_shift_g_follow_again() {
    let mut app = app_with(10);
    app.update(key(KeyCode::Home));
    assert_eq!(app.table.selected, Some(0));
    app.update(key(KeyCode::End));
    assert!(app.table.is_following());
    app.update(key(KeyCode::Char('g')));
    assert_eq!(app.table.selected, Some(0));
    app.update(key(KeyCode::Char('G')));
    assert!(app.table.is_following());
}

#[test]
fn enter_opens_the_detail_of_the_selected_flow_and_esc_closes_it() {
    let mut app = app_with(10);
    app.update(key(KeyCode::Enter));
    assert!(app.detail.open);
    assert_eq!(
        app.table.selected,
        Some(9),
        "following selects the newest for the detail"
    );
    app.update(key(KeyCode::Up));
    assert_eq!(
        app.detail_flow().map(|f| f.time),
        app.buffer.get(8).map(|f| f.time)
    );
    app.update(key(KeyCode::Esc));
    assert!(!app.detail.open);
}

#[test]
fn enter_on_an_empty_table_opens_nothing() {
    let mut app = app_with(0);
    app.update(key(KeyCode::Enter));
    assert!(!app.detail.open);
}

#[test]
fn page_keys_scroll_the_detail_pane_while_it_is_open() {
    let mut app = app_with(10);
    app.update(key(KeyCode::Enter));
    app.update(key(KeyCode::PageDown));
    let scrolled = app.detail.scroll;
    assert!(scrolled > 0);
    assert_eq!(app.table.selected, Some(9), "the selection stays");
    app.update(key(KeyCode::PageUp));
    app.update(key(KeyCode::PageUp));
    assert_eq!(app.detail.scroll, 0);
    app.update(key(KeyCode::PageDown));
    app.update(key(KeyCode::Up));
    assert_eq!(app.detail.scroll, 0, "another flow starts at its top");
}

#[test]
fn tab_and_shift_tab_cycle_the_panels() {
    let mut app = app_with(0);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.panel, Panel::ByReason);
    press(&mut app, &[KeyCode::Tab, KeyCode::Tab, KeyCode::Tab]);
    assert_eq!(app.panel, Panel::TopDrops);
    app.update(key(KeyCode::BackTab));
    assert_eq!(app.panel, Panel::Endpoints);
}

#[test]
fn question_mark_toggles_help_and_help_swallows_other_keys() {
    let mut app = app_with(5);
    app.update(key(KeyCode::Char('?')));
    assert!(app.help);
    press(
        &mut app,
        &[KeyCode::Up, KeyCode::Char('/'), KeyCode::Char(' ')],
    );
    assert!(app.table.is_following() && !app.filter.editing && !app.pause.is_paused());
    app.update(key(KeyCode::Char('?')));
    assert!(!app.help);
    app.update(key(KeyCode::Char('?')));
    app.update(key(KeyCode::Esc));
    assert!(!app.help);
    app.update(key(KeyCode::Char('?')));
    assert_eq!(app.update(key(KeyCode::Char('q'))), Some(Cmd::Quit));
}

#[test]
fn c_clears_the_table_and_the_drop_counters() {
    let mut app = app_with(12);
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::Char('c')));
    assert!(app.buffer.is_empty() && app.drops.total() == 0 && app.received == 0);
    assert!(app.table.is_following());
}

#[test]
fn connection_messages_move_between_connected_and_reconnecting() {
    let mut app = App::new(&AppConfig::default(), FilterSpec::none());
    assert_eq!(app.connection, Connection::Connecting);
    app.update(Msg::Disconnected("refused\u{1b}[2J".into()));
    assert_eq!(
        app.connection,
        Connection::Reconnecting {
            reason: "refused^[[2J".into(),
            attempts: 1
        }
    );
    app.update(Msg::Connected);
    assert!(app.connection.is_connected());
}

#[test]
fn skipped_flows_and_lost_events_are_counted_per_source() {
    let mut app = app_with(0);
    app.update(Msg::Skipped(10));
    app.update(Msg::Lost(
        "n1".into(),
        LostEvent {
            source: LostEventSource::HubbleRingBuffer.into(),
            num_events_lost: 3,
            ..Default::default()
        },
    ));
    app.update(Msg::Tick);
    assert_eq!(app.losses.get(LossSource::Tui).total(), 10);
    assert_eq!(app.losses.get(LossSource::ReaderOvertaken).per_second, 3);
}

#[test]
fn a_tick_turns_received_flows_into_rates() {
    let mut app = app_with(12);
    app.update(Msg::Tick);
    assert_eq!(
        (app.rates.flows_per_second, app.rates.drops_per_second),
        (12, 6)
    );
    app.update(Msg::Tick);
    assert_eq!(app.rates.flows_per_second, 0);
}

#[test]
fn status_updates_the_ring_and_a_failed_poll_marks_it_stale() {
    let mut app = app_with(0);
    app.update(Msg::Status(Box::new(ServerStatusResponse {
        num_flows: 10,
        max_flows: 4095,
        ..Default::default()
    })));
    assert_eq!((app.agent.num_flows, app.agent.max_flows), (10, 4095));
    app.update(Msg::StatusUnavailable("timeout".into()));
    assert_eq!(
        (app.agent.num_flows, app.agent.error.as_deref()),
        (10, Some("timeout"))
    );
}

#[test]
fn a_resize_changes_the_page_size() {
    let mut app = app_with(0);
    let tall = app.table_rows();
    app.update(Msg::Resize(120, 20));
    assert!(app.table_rows() < tall);
    app.update(Msg::Resize(20, 5));
    assert_eq!(
        app.table_rows(),
        4,
        "the minimal view pages by its flow lines"
    );
}

#[test]
fn endpoint_results_and_errors_are_kept() {
    let mut app = app_with(0);
    app.update(Msg::Endpoints(Err("no control API".into())));
    assert!(!app.endpoints.loaded && app.endpoints.error.is_some());
    app.update(Msg::Endpoints(Ok(vec![])));
    assert!(app.endpoints.loaded && app.endpoints.error.is_none());
}
