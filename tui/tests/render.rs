//! Snapshot tests: every screen state drawn on ratatui's `TestBackend` and compared, as
//! text, with a golden file in `tests/snapshots/` (`UPDATE_GOLDEN=1` rewrites them).
//! Styles that carry meaning (verdict colours, selection) are asserted separately.

mod support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use observe_proto::control::Endpoint;
use observe_proto::flow::{LostEvent, LostEventSource};
use observe_proto::observer::ServerStatusResponse;
use observe_tui::app::{App, AppConfig};
use observe_tui::filter::FilterSpec;
use observe_tui::msg::Msg;
use ratatui::style::{Color, Modifier};
use support::fixtures;
use support::screen::{assert_snapshot, draw, lines};

const SERVER: &str = "unix:///run/observe/observer.sock";

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(key(KeyCode::Char(c)));
    }
}

fn status(num_flows: u64) -> Msg {
    Msg::Status(Box::new(ServerStatusResponse {
        num_flows,
        max_flows: 4095,
        flows_rate: 312.0,
        version: "0.1.0".into(),
        ..Default::default()
    }))
}

fn endpoints() -> Msg {
    let ep = |id, pod: &str, identity, ip: &str, ingress| Endpoint {
        id,
        namespace: "shop".into(),
        pod: pod.into(),
        identity,
        ips: vec![ip.into()],
        ingress_enforced: ingress,
        egress_enforced: pod == "frontend",
        status: "ready".into(),
        ..Default::default()
    };
    Msg::Endpoints(Ok(vec![
        ep(1, "frontend", 1001, "10.0.1.1", false),
        ep(2, "backend", 1002, "10.0.1.2", true),
        ep(3, "db", 1003, "10.0.1.3", true),
    ]))
}

/// Connected, with status and endpoints known, and no flow yet.
fn connected_app() -> App {
    let config = AppConfig {
        server: SERVER.into(),
        capacity: 10_000,
    };
    let mut app = App::new(&config, FilterSpec::none());
    app.update(Msg::Connected);
    app.update(status(0));
    app.update(endpoints());
    app
}

/// `n` mixed flows received within one second, then the second ticks.
fn streaming_app(n: usize) -> App {
    let mut app = connected_app();
    for flow in fixtures::mixed_flows(n) {
        app.update(Msg::Flow(Box::new(flow)));
    }
    app.update(status(n as u64));
    app.update(Msg::Tick);
    app
}

#[test]
fn the_empty_screen_says_it_is_waiting_for_flows() {
    let mut app = connected_app();
    assert_snapshot("empty", &draw(&mut app, 100, 30));
}

#[test]
fn the_streaming_screen_shows_flows_rates_ring_and_top_drops() {
    let mut app = streaming_app(40);
    let screen = draw(&mut app, 120, 40);
    assert_snapshot("streaming", &screen);
}

#[test]
fn the_streaming_screen_with_a_drop_selected_highlights_it() {
    let mut app = streaming_app(40);
    // The first Up selects the newest flow (04:21:55.900); five more reach the explicit
    // deny at 04:21:55.400.
    for _ in 0..6 {
        app.update(key(KeyCode::Up));
    }
    let screen = draw(&mut app, 120, 40);
    assert_snapshot("streaming_drop_selected", &screen);
    let row = lines(&screen)
        .iter()
        .position(|l| l.contains("04:21:55.400"))
        .expect("the selected row");
    assert!(lines(&screen)[row].contains("Policy denied by"));
    let cell = &screen[(2, row as u16)];
    assert!(
        cell.modifier.contains(Modifier::REVERSED),
        "the selected row is reversed"
    );
}

#[test]
fn verdicts_are_coloured_like_hubble() {
    let mut app = streaming_app(6);
    let screen = draw(&mut app, 120, 40);
    let text = lines(&screen);
    let find = |needle: &str| {
        let y = text.iter().position(|l| l.contains(needle)).expect(needle);
        let x = text[y].find(needle).unwrap();
        screen[(text[y][..x].chars().count() as u16, y as u16)].fg
    };
    assert_eq!(find("FORWARDED"), Color::Green);
    assert_eq!(find("DROPPED"), Color::Red);
}

#[test]
fn the_paused_screen_freezes_the_table_and_counts_new_flows() {
    let mut app = streaming_app(12);
    app.update(key(KeyCode::Char(' ')));
    for flow in fixtures::mixed_flows(7) {
        app.update(Msg::Flow(Box::new(flow)));
    }
    assert_snapshot("paused", &draw(&mut app, 100, 30));
}

#[test]
fn the_filtered_screen_shows_the_filter_in_force() {
    let mut app = streaming_app(12);
    app.update(key(KeyCode::Char('/')));
    typed(&mut app, "--verdict DROPPED --to-pod shop/db");
    app.update(key(KeyCode::Enter));
    app.update(Msg::Connected);
    for flow in fixtures::mixed_flows(12)
        .into_iter()
        .filter(|f| f.verdict == 2 && f.destination.as_ref().is_some_and(|d| d.pod_name == "db"))
    {
        app.update(Msg::Flow(Box::new(flow)));
    }
    assert_snapshot("filtered", &draw(&mut app, 100, 30));
}

#[test]
fn a_filter_that_does_not_parse_is_shown_inline_with_its_error() {
    let mut app = streaming_app(6);
    app.update(key(KeyCode::Char('/')));
    typed(&mut app, "--verdict DROPPD");
    app.update(key(KeyCode::Enter));
    assert_snapshot("filter_error", &draw(&mut app, 100, 30));
}

#[test]
fn the_detail_of_a_default_deny_names_the_policies_selecting_the_endpoint() {
    let mut app = connected_app();
    app.update(Msg::Flow(Box::new(fixtures::flow(fixtures::allowed(0)))));
    app.update(Msg::Flow(Box::new(fixtures::flow(fixtures::default_deny(
        250,
    )))));
    app.update(key(KeyCode::Enter));
    assert_snapshot("detail_default_deny", &draw(&mut app, 110, 44));
}

#[test]
fn the_detail_of_an_explicit_deny_names_the_deny_rule() {
    let mut app = connected_app();
    app.update(Msg::Flow(Box::new(fixtures::flow(
        fixtures::explicit_deny(400),
    ))));
    app.update(Msg::Flow(Box::new(fixtures::flow(fixtures::allowed(500)))));
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::Enter));
    assert_snapshot("detail_explicit_deny", &draw(&mut app, 110, 44));
}

#[test]
fn the_disconnected_screen_says_why_and_that_it_retries() {
    let mut app = streaming_app(6);
    app.update(Msg::Disconnected(
        "Unavailable: transport error (Connection refused (os error 111))".into(),
    ));
    app.update(Msg::Disconnected(
        "Unavailable: transport error (Connection refused (os error 111))".into(),
    ));
    app.update(Msg::StatusUnavailable(
        "Unavailable: transport error".into(),
    ));
    assert_snapshot("disconnected", &draw(&mut app, 100, 30));
}

#[test]
fn the_help_overlay_lists_every_key() {
    let mut app = streaming_app(6);
    app.update(key(KeyCode::Char('?')));
    assert_snapshot("help", &draw(&mut app, 110, 34));
}

#[test]
fn lost_events_and_skipped_rows_are_explained_in_the_header() {
    let mut app = streaming_app(12);
    let lost = |source: LostEventSource, n| LostEvent {
        source: source.into(),
        num_events_lost: n,
        ..Default::default()
    };
    app.update(Msg::Status(Box::new(ServerStatusResponse {
        num_flows: 4095,
        max_flows: 4095,
        lost_events: vec![],
        ..Default::default()
    })));
    app.update(Msg::Tick);
    app.update(Msg::Status(Box::new(ServerStatusResponse {
        num_flows: 4095,
        max_flows: 4095,
        lost_events: vec![
            lost(LostEventSource::PerfEventRingBuffer, 1200),
            lost(LostEventSource::HubbleRingBuffer, 40),
        ],
        ..Default::default()
    })));
    app.update(Msg::Skipped(5000));
    app.update(Msg::Tick);
    assert_snapshot("losses", &draw(&mut app, 120, 40));
}

#[test]
fn each_panel_is_one_tab_away() {
    let mut app = streaming_app(40);
    for name in ["panel_by_reason", "panel_by_policy", "panel_endpoints"] {
        app.update(key(KeyCode::Tab));
        assert_snapshot(name, &draw(&mut app, 100, 32));
    }
}

#[test]
fn the_endpoints_panel_says_when_the_control_api_is_unavailable() {
    let config = AppConfig {
        server: SERVER.into(),
        capacity: 100,
    };
    let mut app = App::new(&config, FilterSpec::none());
    app.update(Msg::Endpoints(Err(
        "the agent does not serve the control API".into(),
    )));
    app.update(key(KeyCode::BackTab));
    let text = lines(&draw(&mut app, 100, 32)).join("\n");
    assert!(
        text.contains("Endpoints unavailable: the agent does not serve the control API"),
        "{text}"
    );
}

#[test]
fn a_tiny_terminal_gets_the_minimal_view() {
    let mut app = streaming_app(20);
    assert_snapshot("tiny", &draw(&mut app, 40, 8));
}

#[test]
fn every_terminal_size_down_to_one_by_one_draws_without_panicking() {
    let mut states = vec![connected_app(), streaming_app(30)];
    let mut detail = streaming_app(30);
    detail.update(key(KeyCode::Enter));
    let mut help = streaming_app(3);
    help.update(key(KeyCode::Char('?')));
    let mut editing = streaming_app(3);
    editing.update(key(KeyCode::Char('/')));
    typed(
        &mut editing,
        "--verdict DROPPED --to-pod shop/ --not --port 53",
    );
    states.extend([detail, help, editing]);
    // Every size up to 12 in both directions, then a sweep of the larger ones and the
    // edges of the minimal view.
    let small = (1..=12).flat_map(|w| (1..=12).map(move |h| (w, h)));
    let larger = (13..=130)
        .step_by(13)
        .flat_map(|w| (13..=45).step_by(8).map(move |h| (w, h)));
    let edges = [
        (59, 40),
        (60, 11),
        (60, 12),
        (61, 13),
        (200, 60),
        (1, 60),
        (200, 1),
    ];
    let sizes: Vec<(u16, u16)> = small.chain(larger).chain(edges).collect();
    for app in &mut states {
        for &(width, height) in &sizes {
            {
                draw(app, width, height);
            }
        }
    }
}

#[test]
fn escape_sequences_in_flow_fields_never_reach_the_terminal() {
    let mut flow = fixtures::flow(fixtures::default_deny(0));
    flow.source.as_mut().unwrap().pod_name = "evil\u{1b}]0;owned\u{7}\u{1b}[2J".into();
    flow.attribution.as_mut().unwrap().selecting_policies[0].name = "p\u{9b}1m\u{202e}".into();
    let mut app = connected_app();
    app.update(Msg::Flow(Box::new(flow)));
    app.update(key(KeyCode::Enter));
    let screen = draw(&mut app, 120, 40);
    let text = lines(&screen).join("\n");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "no control character is drawn"
    );
    assert!(text.contains("evil^[]0;owned^G^[[2J"), "{text}");
    assert!(text.contains("p<U+009B>1m<U+202E>"), "{text}");
}

#[test]
fn through_a_relay_flows_and_losses_name_their_node() {
    let mut app = connected_app();
    for (i, mut flow) in fixtures::mixed_flows(12).into_iter().enumerate() {
        flow.node_name = format!("n{}", i % 3 + 1);
        app.update(Msg::Flow(Box::new(flow)));
    }
    app.update(Msg::Status(Box::new(ServerStatusResponse {
        num_flows: 8190,
        max_flows: 12285,
        flows_rate: 900.0,
        version: "observe-relay 0.1.0".into(),
        num_connected_nodes: Some(observe_proto::pbjson_types::UInt32Value { value: 2 }),
        num_unavailable_nodes: Some(observe_proto::pbjson_types::UInt32Value { value: 1 }),
        unavailable_nodes: vec!["n2".into()],
        ..Default::default()
    })));
    for (node, n) in [("n1", 30), ("n3", 12)] {
        app.update(Msg::Lost(
            node.into(),
            LostEvent {
                source: LostEventSource::HubbleRingBuffer.into(),
                num_events_lost: n,
                ..Default::default()
            },
        ));
    }
    app.update(Msg::Tick);
    let screen = draw(&mut app, 140, 40);
    let text = lines(&screen).join("\n");
    assert!(text.contains("relay: ring 8,190/12,285"), "{text}");
    assert!(text.contains("nodes 2/3 (n2 unavailable)"), "{text}");
    assert!(
        text.contains("reader overtaken 42 (+42/s) [n1 30, n3 12]"),
        "{text}"
    );
    assert!(text.contains("NODE"), "{text}");
    assert_snapshot("relay", &screen);
}

#[test]
fn while_policies_are_staged_the_table_shows_each_connections_staged_verdict() {
    use observe_proto::flow::{Attribution, PolicyRule, PolicyVerdictKind, StagedVerdict, Verdict};
    let mut app = connected_app();
    for (i, mut flow) in fixtures::mixed_flows(8).into_iter().enumerate() {
        let dropped = i % 2 == 1;
        flow.staged = Some(StagedVerdict {
            verdict: if dropped {
                Verdict::Dropped
            } else {
                Verdict::Forwarded
            }
            .into(),
            drop_reason: if dropped { 181 } else { 0 },
            attribution: dropped.then(|| Attribution {
                kind: PolicyVerdictKind::ExplicitDeny.into(),
                rules: vec![PolicyRule {
                    kind: "CiliumNetworkPolicy".into(),
                    namespace: "shop".into(),
                    name: "lockdown".into(),
                    path: "spec.ingressDeny[0]".into(),
                }],
                ..Attribution::default()
            }),
        });
        app.update(Msg::Flow(Box::new(flow)));
    }
    app.update(key(KeyCode::Enter));
    let screen = draw(&mut app, 140, 40);
    let text = lines(&screen).join("\n");
    assert!(text.contains("STAGED"), "{text}");
    assert!(
        text.contains("Staged: DROPPED · CiliumNetworkPolicy shop/lockdown spec.ingressDeny[0]"),
        "{text}"
    );
    assert_snapshot("staged", &screen);
}
