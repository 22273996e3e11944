//! Restarting the agent never flips a verdict: enforcement lives in pinned maps and links,
//! and the new agent adopts them and its endpoints.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::*;

#[test]
fn restarting_the_agent_never_flips_a_verdict() {
    let Some(mut c) = Cluster::new("e2erestart") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _server = c.serve("server", &[8080, 9090], &[]);
    let ids_before: Vec<(String, u32, u32)> = c
        .endpoints()
        .into_iter()
        .map(|e| (e.pod, e.id, e.identity))
        .collect();
    let netns = c.endpoint("client").netns;
    let server = ip("server", false);
    let stop = Arc::new(AtomicBool::new(false));
    let (allowed_failed, denied_passed, probes) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let prober = {
        let (stop, af, dp, n) = (
            stop.clone(),
            allowed_failed.clone(),
            denied_passed.clone(),
            probes.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if !reaches(&netns, server, "tcp", 8080) {
                    af.fetch_add(1, Ordering::SeqCst);
                }
                if reaches(&netns, server, "tcp", 9090) {
                    dp.fetch_add(1, Ordering::SeqCst);
                }
                n.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    c.stop_agent();
    std::thread::sleep(Duration::from_millis(700)); // no agent at all for a while
    c.start_agent();
    std::thread::sleep(Duration::from_millis(700));
    stop.store(true, Ordering::SeqCst);
    prober.join().expect("prober");
    let n = probes.load(Ordering::SeqCst);
    assert!(n >= 3, "only {n} probe rounds");
    assert_eq!(
        allowed_failed.load(Ordering::SeqCst),
        0,
        "the allowed flow failed during the restart ({n} rounds)"
    );
    assert_eq!(
        denied_passed.load(Ordering::SeqCst),
        0,
        "the denied flow passed during the restart ({n} rounds)"
    );
    let ids_after: Vec<(String, u32, u32)> = c
        .endpoints()
        .into_iter()
        .map(|e| (e.pod, e.id, e.identity))
        .collect();
    assert_eq!(
        ids_after, ids_before,
        "the new agent adopted the same endpoints"
    );
    assert!(c.log().contains("serving"), "{}", c.log());
}
