//! The real `observe tui` binary in a pseudo-terminal (tmux), against an in-process agent
//! serving synthetic flows on a unix socket: keys go in with `send-keys`, the screen
//! comes back with `capture-pane` (`lab::Terminal`). The same binary against the real agent
//! in the lab is tested in `agent_e2e/tui.rs`.
//!
//! Skips (passing, with a message) when tmux is not installed: `cargo xtask setup`
//! installs it. The binary is `$OBSERVE_BIN` if set, else it is built with cargo into
//! this test's target directory.

mod support;

use std::time::Duration;

use lab::Terminal;

use support::agent::{Agent, temp_dir};
use support::fixtures;

fn observe_binary() -> std::path::PathBuf {
    lab::workspace_binary("OBSERVE_BIN", "observe-cli", "observe")
}

/// Rows of the flow table.
fn table_rows(screen: &str) -> Vec<&str> {
    lab::table_rows(screen, "TIME (UTC)")
}

#[test]
fn the_real_binary_streams_filters_explains_and_quits_in_a_pseudo_terminal() {
    if !Terminal::available() {
        eprintln!("skipped: tmux is not installed (apt-get install -y tmux, or cargo xtask setup)");
        return;
    }
    let binary = observe_binary();
    let dir = temp_dir("pty");
    let agent = Agent::start(&dir.path().join("agent.sock"));
    agent.send(&fixtures::mixed(30));
    let command = format!(
        "{} --server {} tui; echo EXITED $?; sleep 60",
        binary.display(),
        agent.address()
    );
    let tmux = Terminal::start("main", 120, 40, &command);

    // Streaming: history loaded, connected, rates and ring in the header.
    let screen = tmux.wait("flows", |s| {
        s.contains("● connected") && table_rows(s).len() >= 20
    });
    assert!(
        screen.contains("agent test-agent: ring 30/4,095"),
        "{screen}"
    );
    assert!(screen.contains("default deny shop/db-ingress"), "{screen}");

    // `/`, a filter, Enter: the agent filters, the header says so.
    tmux.keys(&["/"]);
    tmux.wait("the filter editor", |s| s.contains("filter ▸"));
    tmux.text("--verdict DROPPED --to-pod shop/db");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("filtered flows", |s| {
        s.contains("filter: --verdict DROPPED --to-pod shop/db") && table_rows(s).len() >= 5
    });
    assert!(
        table_rows(&screen)
            .iter()
            .all(|r| r.contains("DROPPED") && r.contains("shop/db")),
        "{screen}"
    );

    // A bad filter is shown inline and the old one stays.
    tmux.keys(&["/"]);
    tmux.text(" --verdikt X");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the parse error", |s| {
        s.contains("✗ ") && s.contains("the current filter stays in force")
    });
    assert!(
        screen.contains("filter: --verdict DROPPED --to-pod shop/db"),
        "{screen}"
    );
    tmux.keys(&["Escape"]);

    // New flows arrive live; select one, open its detail.
    agent.send(&[fixtures::explicit_deny(9_000)]);
    tmux.wait("the new drop", |s| s.contains("04:22:01.000"));
    tmux.keys(&["Up", "Enter"]);
    let screen = tmux.wait("the detail pane", |s| s.contains("Flow detail"));
    assert!(
        screen.contains("Denied at the egress of shop/frontend by a deny rule"),
        "{screen}"
    );
    assert!(
        screen.contains("CiliumNetworkPolicy shop/frontend-never-db rule spec.egressDeny[0]"),
        "{screen}"
    );
    assert!(
        screen.contains(
            "$ observe policy trace --from shop/frontend --to shop/db --dport 5432 --protocol TCP"
        ),
        "{screen}"
    );
    eprintln!("the detail pane:\n{screen}");

    // `q` quits and gives the terminal back (the shell's echo is on the normal screen).
    tmux.keys(&["Escape", "q"]);
    let screen = tmux.wait("the exit", |s| s.contains("EXITED"));
    assert!(screen.contains("EXITED 0"), "{screen}");
    assert!(
        !screen.contains("TIME (UTC)"),
        "the alternate screen is gone:\n{screen}"
    );
}

#[test]
fn the_real_binary_reconnects_after_the_agent_restarts_and_survives_resizes() {
    if !Terminal::available() {
        eprintln!("skipped: tmux is not installed (apt-get install -y tmux, or cargo xtask setup)");
        return;
    }
    let binary = observe_binary();
    let dir = temp_dir("pty-restart");
    let socket = dir.path().join("agent.sock");
    let agent = Agent::start(&socket);
    agent.send(&fixtures::mixed(6));
    let address = agent.address();
    let command = format!(
        "{} --server {address} tui; echo EXITED $?; sleep 60",
        binary.display()
    );
    let tmux = Terminal::start("restart", 120, 40, &command);
    tmux.wait("flows", |s| {
        s.contains("● connected") && table_rows(s).len() >= 6
    });

    drop(agent);
    let screen = tmux.wait("the disconnect", |s| {
        s.contains("✗ disconnected, reconnecting")
    });
    assert!(screen.contains("retrying with backoff"), "{screen}");
    assert_eq!(
        table_rows(&screen).len(),
        6,
        "the rows stay while the agent is away:\n{screen}"
    );

    let agent = Agent::start(&socket);
    tmux.wait("the reconnect", |s| s.contains("● connected"));
    agent.send(&[fixtures::world_drop(120_000)]);
    tmux.wait("a flow from the restarted agent", |s| {
        s.contains("04:23:52.000")
    });

    // Tiny, then back: the minimal view, never a crash.
    for (w, h) in [(30, 6), (1, 1), (120, 40)] {
        tmux.resize(w, h);
        std::thread::sleep(Duration::from_millis(300));
    }
    tmux.wait("the full view again", |s| s.contains("TIME (UTC)"));
    tmux.keys(&["C-c"]);
    let screen = tmux.wait("the exit", |s| s.contains("EXITED"));
    assert!(screen.contains("EXITED 0"), "{screen}");
}
