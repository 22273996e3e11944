//! Golden tests: every `tests/golden/<case>.yaml` (with `_cluster.yaml` prepended) is
//! applied to an engine and its map state must equal `<case>.golden`.
//!
//! Run with `UPDATE_GOLDEN=1` to rewrite the golden files after an intended change, then
//! review the diff.

use std::path::{Path, PathBuf};

use enforcer::engine::{Engine, EngineConfig};
use enforcer::manifest::{self, Input};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn render(inputs: &[Input]) -> String {
    let parsed = manifest::parse(inputs).unwrap_or_else(|e| panic!("{e}"));
    let mut engine = Engine::new(EngineConfig::default());
    engine
        .apply(parsed.into_objects())
        .unwrap_or_else(|e| panic!("{e}"));
    engine.render_map_states()
}

fn check(name: &str, got: &str) {
    lab::golden::assert_golden(&dir().join(format!("{name}.golden")), got);
}

#[test]
fn fixtures_match_their_golden_map_state() {
    let cluster = std::fs::read_to_string(dir().join("_cluster.yaml")).unwrap();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && !p.file_name().unwrap().to_string_lossy().starts_with('_')
        })
        .collect();
    cases.sort();
    assert!(cases.len() >= 8, "fixtures missing: {cases:?}");
    for case in cases {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&case).unwrap();
        let inputs = [
            Input {
                name: "_cluster.yaml".into(),
                text: cluster.clone(),
            },
            Input {
                name: name.clone(),
                text,
            },
        ];
        check(&name, &render(&inputs));
    }
}

#[test]
fn the_examples_match_their_golden_map_state() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let inputs = manifest::read_inputs(&[examples.display().to_string()]).unwrap();
    check("examples", &render(&inputs));
}

#[test]
fn the_star_wars_workloads_match_their_golden_map_state() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/star-wars");
    let inputs = manifest::read_inputs(&[dir.display().to_string()]).unwrap();
    check("star-wars", &render(&inputs));
}

#[test]
fn the_service_examples_match_their_golden_map_state() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/services");
    let inputs = manifest::read_inputs(&[dir.display().to_string()]).unwrap();
    check("services", &render(&inputs));
}
