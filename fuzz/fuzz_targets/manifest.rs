//! Fuzzes the manifest parser and everything downstream of it: any input must either be
//! rejected with diagnostics or produce an engine whose map states, ipcache, traces and
//! matrix can all be computed — never a panic.
#![no_main]

use enforcer::engine::trace::{Target, TraceRequest};
use enforcer::engine::{Engine, EngineConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(parsed) = enforcer::manifest::parse_str("fuzz.yaml", text) else { return };
    let mut engine = Engine::new(EngineConfig::default());
    if engine.apply(parsed.objects.into_iter().map(|l| l.object)).is_err() {
        return;
    }
    let _ = engine.render_map_states();
    for node in engine.node_names() {
        let _ = engine.ipcache(&node);
    }
    let pods: Vec<_> = engine.endpoints().map(|e| e.pod.key.clone()).take(4).collect();
    for from in &pods {
        for to in &pods {
            for (protocol, dport) in [(6, 80), (17, 53), (1, 8)] {
                let req = TraceRequest { from: Target::Pod(from.clone()), to: Target::Pod(to.clone()), protocol, dport, reply: true };
                let _ = engine.trace(&req);
            }
        }
    }
    let _ = engine.matrix(&[]);
});
