//! Every failure is one line on stderr with a non-zero exit; a closed pipe is not a
//! failure.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use crate::util::{assert_one_line_error, fixture, observe, replay, stdout};

#[test]
fn a_server_that_is_down() {
    let out = observe()
        .args([
            "flows",
            "--server",
            "unix:///nonexistent/observe.sock",
            "--timeout",
            "1s",
        ])
        .output()
        .unwrap();
    assert_one_line_error(
        &out,
        1,
        &["cannot reach the agent at unix:///nonexistent/observe.sock"],
    );
    let out = observe()
        .args(["status", "--server", "unix:///nonexistent/observe.sock"])
        .output()
        .unwrap();
    assert_one_line_error(&out, 1, &["cannot reach the agent"]);
}

/// A unix socket that accepts connections and never answers: a hung agent.
fn silent_agent(name: &str) -> String {
    let path =
        std::env::temp_dir().join(format!("observe-silent-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        // Hold every connection open, answering nothing.
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    format!("unix://{}", path.display())
}

#[test]
fn observe_takes_hubbles_request_timeout_for_unary_calls() {
    // Bug 11: `--request-timeout` (Hubble's default 12s) bounds non-streaming calls; an
    // agent that never answers used to hang `observe status` forever.
    let server = silent_agent("status");
    let started = std::time::Instant::now();
    let out = observe()
        .args(["status", "--server", &server, "--request-timeout", "300ms"])
        .output()
        .unwrap();
    assert_one_line_error(
        &out,
        1,
        &["did not answer within 300ms", "--request-timeout"],
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let config = std::env::temp_dir().join(format!(
        "observe-request-timeout-{}.yaml",
        std::process::id()
    ));
    std::fs::write(&config, "request-timeout: 200ms\n").unwrap();
    let out = observe()
        .env("OBSERVE_CONFIG", &config)
        .args(["get", "endpoints", "--server", &server])
        .output()
        .unwrap();
    assert_one_line_error(&out, 1, &["did not answer within 200ms"]);
    // `observe flows` takes the flag too (its stream has no deadline, as in Hubble).
    assert!(!stdout(&replay(&["--request-timeout", "1s"])).is_empty());
    assert_one_line_error(
        &replay(&["--request-timeout", "soon"]),
        2,
        &["--request-timeout", "soon"],
    );
}

#[test]
fn a_timeout_with_a_leading_space_or_too_many_hours_is_one_line_not_a_panic() {
    // Bug 4: `--timeout " 5"` and `--timeout 99999999999999999999h` panicked.
    for (value, needle) in [
        (" 5", "invalid duration"),
        ("99999999999999999999h", "out of range"),
    ] {
        for (flag, env) in [
            ("--timeout", "OBSERVE_TIMEOUT"),
            ("--request-timeout", "OBSERVE_REQUEST_TIMEOUT"),
        ] {
            let out = observe().args(["status", flag, value]).output().unwrap();
            assert_one_line_error(&out, 2, &[flag, needle]);
            let out = observe().env(env, value).arg("status").output().unwrap();
            assert_one_line_error(&out, 2, &[needle]);
        }
    }
}

#[test]
fn bad_flag_values() {
    assert_one_line_error(
        &replay(&["--verdict", "DENIED"]),
        2,
        &["--verdict", "FORWARDED"],
    );
    assert_one_line_error(
        &replay(&["--to-port", "http"]),
        2,
        &["--to-port", "0 to 65535"],
    );
    assert_one_line_error(&replay(&["--type", "trcae"]), 2, &["unknown event type"]);
    assert_one_line_error(&replay(&["--verdcit", "DROPPED"]), 2, &["--verdict"]);
    assert_one_line_error(&replay(&["-o", "yaml"]), 2, &["compact"]);
    assert_one_line_error(&replay(&["--first", "2", "--last", "3"]), 2, &["--first"]);
}

#[test]
fn bad_filters() {
    assert_one_line_error(
        &replay(&["--verdict", "DROPPED", "--not"]),
        1,
        &["trailing --not"],
    );
    assert_one_line_error(
        &replay(&["--port", "53", "--to-port", "53"]),
        1,
        &["cannot be combined"],
    );
    assert_one_line_error(
        &replay(&["--allowlist", r#"{"source_ip":["10.0.0.300"]}"#]),
        1,
        &["invalid filter", "10.0.0.300"],
    );
    assert_one_line_error(&replay(&["--allowlist", "{"]), 1, &["--allowlist"]);
    assert_one_line_error(&replay(&["-l", "app in (("]), 1, &["invalid filter"]);
}

#[test]
fn bad_times() {
    assert_one_line_error(&replay(&["--since", "yesterday"]), 2, &["--since", "1h43m"]);
    assert_one_line_error(&replay(&["--until", "2024-02-30"]), 2, &["--until"]);
}

#[test]
fn bad_combinations_and_inputs() {
    assert_one_line_error(&replay(&["-o", "table", "--follow"]), 1, &["--follow"]);
    assert_one_line_error(&replay(&["--field-mask", "time"]), 1, &["-o json"]);
    assert_one_line_error(
        &replay(&["-o", "json", "--field-mask", "pod"]),
        1,
        &["\"pod\""],
    );
    let out = observe()
        .args(["flows", "--input-file", "/nonexistent/flows.json"])
        .output()
        .unwrap();
    assert_one_line_error(
        &out,
        1,
        &["cannot open --input-file /nonexistent/flows.json"],
    );
    let mut child = observe()
        .args(["flows", "--input-file", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\n{\"flow\":{}}\nnot json\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("Error: -:3: not JSON"), "{stderr}");
}

#[test]
fn a_closed_pipe_is_a_quiet_success() {
    // Enough lines to overflow the pipe buffer after the reader is gone.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    let text = std::fs::read_to_string(fixture()).unwrap();
    std::fs::write(&big, text.repeat(2000)).unwrap();
    let mut child = observe()
        .arg("flows")
        .arg("--input-file")
        .arg(&big)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("to-endpoint FORWARDED"), "{first}");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn a_field_mask_path_the_agent_rejects_is_rejected_on_replay_too() {
    for bad in ["source.bogus", "l7.http", "time.seconds"] {
        // The agent answers INVALID_ARGUMENT with this text (observe_filter::FieldMask).
        let agent = observe_filter::FieldMask::new(&[bad.to_string()])
            .expect_err("the agent rejects the path")
            .to_string();
        assert_one_line_error(
            &replay(&["-o", "jsonpb", "--field-mask", bad]),
            1,
            &["invalid --field-mask", &agent],
        );
    }
    // A path the agent accepts still cuts replayed flows down to it.
    let out = stdout(&replay(&[
        "-o",
        "jsonpb",
        "--field-mask",
        "source.pod_name",
        "--last",
        "3",
    ]));
    let flows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a GetFlowsResponse"))
        .filter_map(|response| response.get("flow").cloned())
        .collect();
    assert_eq!(flows.len(), 3, "{out}");
    for flow in &flows {
        let fields = flow.as_object().expect("a flow object");
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["source"], "{flow}");
        let source = fields["source"].as_object().expect("a source");
        assert!(source.keys().all(|k| k == "pod_name"), "{flow}");
    }
    assert_eq!(flows[2]["source"]["pod_name"], "xwing", "{out}");
}
