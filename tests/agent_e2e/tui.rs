//! `observe tui` against the real agent in the lab, in a tmux pseudo-terminal: drops made by
//! real traffic appear with their policy, a filter typed with `/` goes to the agent, the
//! detail pane explains an explicit deny and gives the commands that reproduce it.

use lab::Terminal;

use crate::common::*;

/// Rows of the flow table.
fn table_rows(screen: &str) -> Vec<&str> {
    lab::table_rows(screen, "TIME (UTC)")
}

#[test]
fn the_dashboard_shows_explains_and_filters_real_drops() {
    if !Terminal::available() {
        eprintln!("skipped: tmux is not installed (apt-get install -y tmux, or cargo xtask setup)");
        return;
    }
    let Some(c) = Cluster::new("e2etui") else {
        return;
    };
    c.apply(POLICIES).expect("policies");
    let _server = c.serve("server", &[8080, 7070, 9090], &[]);
    let binary = lab::workspace_binary("OBSERVE_BIN", "observe-cli", "observe");
    let command = format!(
        "NO_COLOR=1 {} --server {} tui; echo EXITED $?; sleep 60",
        binary.display(),
        c.server()
    );
    let term = Terminal::start("e2e-tui", 130, 40, &command);
    term.wait("the connection", |s| s.contains("● connected"));

    // Real traffic: allowed, default-denied, explicitly denied.
    assert!(c.reaches("client", "server", "tcp", 8080, false));
    assert!(!c.reaches("client", "server", "tcp", 9090, false));
    assert!(!c.reaches("intruder", "server", "tcp", 7070, false));
    let screen = term.wait("the drops with their policies", |s| {
        s.contains("default deny e2e/server-ingress") && s.contains("deny e2e/server-ingress")
    });
    assert!(
        table_rows(&screen)
            .iter()
            .any(|r| r.contains("e2e/client") && r.contains("8080/TCP")),
        "the allowed connection is listed too:\n{screen}"
    );
    assert!(screen.contains("Top drops"), "{screen}");

    // A server-side filter in `observe flows` syntax.
    term.keys(&["/"]);
    term.wait("the filter editor", |s| s.contains("filter ▸"));
    term.text("--verdict DROPPED --from-pod e2e/intruder");
    term.keys(&["Enter"]);
    let screen = term.wait("the filtered view", |s| {
        s.contains("filter: --verdict DROPPED --from-pod e2e/intruder") && !table_rows(s).is_empty()
    });
    let rows = table_rows(&screen);
    assert!(
        rows.iter().all(
            |r| r.contains("e2e/intruder") && (r.contains("DROPPED") || r.contains("DENIED  "))
        ),
        "the drops and their policy verdicts, as Hubble shows them:\n{screen}"
    );
    assert!(
        rows.iter()
            .any(|r| r.contains("DROPPED") && r.contains("Policy denied by")),
        "{screen}"
    );
    assert!(
        rows.iter()
            .any(|r| r.contains("DENIED") && r.contains("policy-verdict")),
        "{screen}"
    );

    // The detail of the explicit deny: the rule, and the commands that reproduce it.
    term.keys(&["End", "Enter"]);
    let screen = term.wait("the detail pane", |s| s.contains("Flow detail"));
    assert!(
        screen.contains("CiliumNetworkPolicy e2e/server-ingress rule spec.ingressDeny[0]"),
        "{screen}"
    );
    assert!(
        screen.contains("$ observe policy trace --from e2e/intruder --to e2e/server --dport 7070"),
        "{screen}"
    );
    eprintln!("the detail of a real explicit deny:\n{screen}");

    term.keys(&["Escape", "q"]);
    let screen = term.wait("the exit", |s| s.contains("EXITED"));
    assert!(screen.contains("EXITED 0"), "{screen}");
}
