//! The dashboard's tests draw flows built directly as protobuf values
//! (`tui/tests/support/fixtures.rs`), so they need no agent; here the agent's real decoder
//! decodes the same synthetic events, and must make exactly those flows.

mod support;

use support::{events, fixtures};

#[test]
fn the_dashboards_fixture_flows_are_the_ones_the_agents_decoder_makes() {
    let kinds = [
        fixtures::default_deny(0),
        fixtures::explicit_deny(100),
        fixtures::allowed(200),
        fixtures::world_drop(300),
        fixtures::dns(400),
    ];
    for spec in kinds {
        let decoded = events::decode(&mut events::decoder(), spec);
        assert_eq!(fixtures::flow(spec), decoded, "{spec:?}");
    }
    // One decoder for a whole sequence, as the agent runs it, at many times of day.
    let mut decoder = events::decoder();
    let decoded: Vec<_> = fixtures::mixed(600)
        .into_iter()
        .map(|spec| events::decode(&mut decoder, spec))
        .collect();
    assert_eq!(fixtures::mixed_flows(600), decoded);
}
