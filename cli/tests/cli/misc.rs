//! The config file and its precedence, completions and the man page.

use crate::util::{assert_one_line_error, fixture, observe, stdout};

/// A config file holding `text`, removed when dropped.
fn config_file(name: &str, text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new()
        .prefix(&format!("observe-config-{name}-"))
        .suffix(".yaml")
        .tempfile()
        .unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

#[test]
fn config_sets_the_server_unless_a_flag_or_the_environment_does() {
    let path = config_file(
        "precedence",
        "server: unix:///nonexistent/from-config.sock\ntimeout: 1s\n",
    );
    let run = |extra: &[&str], env: Option<&str>| {
        let mut cmd = observe();
        cmd.env("OBSERVE_CONFIG", path.path())
            .arg("status")
            .args(extra);
        if let Some(server) = env {
            cmd.env("OBSERVE_SERVER", server);
        }
        String::from_utf8(cmd.output().unwrap().stderr).unwrap()
    };
    assert!(run(&[], None).contains("from-config.sock"));
    assert!(run(&[], Some("unix:///nonexistent/from-env.sock")).contains("from-env.sock"));
    let flag = ["--server", "unix:///nonexistent/from-flag.sock"];
    assert!(run(&flag, Some("unix:///nonexistent/from-env.sock")).contains("from-flag.sock"));
}

#[test]
fn the_config_file_sets_tls_like_hubbles() {
    let path = config_file(
        "tls",
        "server: tls://127.0.0.1:1\ntls-ca-cert-files: /nonexistent/from-config.pem\n",
    );
    let run = |extra: &[&str]| {
        let out = observe()
            .env("OBSERVE_CONFIG", path.path())
            .arg("status")
            .args(extra)
            .output()
            .unwrap();
        String::from_utf8(out.stderr).unwrap()
    };
    assert!(run(&[]).contains("from-config.pem"), "{}", run(&[]));
    let flag = ["--tls-ca-cert-files", "/nonexistent/from-flag.pem"];
    assert!(run(&flag).contains("from-flag.pem"), "{}", run(&flag));
}

#[test]
fn a_bad_config_file_is_one_line() {
    let path = config_file("bad", "sever: localhost:4245\n");
    let out = observe()
        .env("OBSERVE_CONFIG", path.path())
        .arg("status")
        .output()
        .unwrap();
    assert_one_line_error(&out, 1, &["config file", "unknown key \"sever\""]);
    let missing = observe()
        .env("OBSERVE_CONFIG", "/nonexistent/config.yaml")
        .arg("status")
        .output()
        .unwrap();
    assert_one_line_error(&missing, 1, &["/nonexistent/config.yaml"]);
}

#[test]
fn the_config_file_is_read_after_the_arguments_and_only_by_commands_that_talk_to_the_agent() {
    // Bug 9: argument parsing read the config file and exited on its errors, so a broken
    // config broke every command, even those that never use it.
    let bad = config_file("unused", "sever: localhost:4245\n");
    for config in [bad.path().as_os_str(), "/nonexistent/config.yaml".as_ref()] {
        let completion = observe()
            .env("OBSERVE_CONFIG", config)
            .args(["completion", "bash"])
            .output()
            .unwrap();
        assert!(stdout(&completion).contains("observe"));
        let replay = observe()
            .env("OBSERVE_CONFIG", config)
            .arg("flows")
            .arg("--input-file")
            .arg(fixture())
            .output()
            .unwrap();
        assert!(!stdout(&replay).is_empty());
        // A bad argument is still reported first, and the agent's commands still fail.
        let typo = observe()
            .env("OBSERVE_CONFIG", config)
            .args(["status", "--bogus"])
            .output()
            .unwrap();
        assert_one_line_error(&typo, 2, &["--bogus"]);
        let status = observe()
            .env("OBSERVE_CONFIG", config)
            .arg("status")
            .output()
            .unwrap();
        assert_one_line_error(&status, 1, &["config file"]);
    }
}

#[test]
fn observe_flows_takes_hubbles_config_flag() {
    // Bug 11: `--config FILE` reads FILE instead of the default config file.
    let path = config_file(
        "flag",
        "server: unix:///nonexistent/from-flag-config.sock\n",
    );
    let other = config_file("env", "server: unix:///nonexistent/from-env-config.sock\n");
    let run = |args: &[&str]| {
        let out = observe()
            .env("OBSERVE_CONFIG", other.path())
            .arg("flows")
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(out.stderr).unwrap()
    };
    let flag = path.path().to_str().unwrap();
    assert!(run(&["--config", flag]).contains("from-flag-config.sock"));
    assert!(run(&[]).contains("from-env-config.sock"));
    let missing = observe()
        .args(["flows", "--config", "/nonexistent/named.yaml"])
        .output()
        .unwrap();
    assert_one_line_error(
        &missing,
        1,
        &["cannot read config file /nonexistent/named.yaml"],
    );
    let help = stdout(&observe().args(["flows", "--help"]).output().unwrap());
    assert!(help.contains("--config <FILE>") && help.contains("--request-timeout"));
}

#[test]
fn completions_and_man_page_come_from_the_flags() {
    for shell in ["bash", "zsh", "fish"] {
        let out = stdout(&observe().args(["completion", shell]).output().unwrap());
        assert!(out.contains("observe"), "{shell}");
        assert!(out.contains("verdict"), "{shell} completes flow flags");
    }
    let man = stdout(&observe().arg("man").output().unwrap());
    assert!(
        man.starts_with(".ie") || man.contains(".TH"),
        "{}",
        &man[..80.min(man.len())]
    );
}

#[test]
fn aggregate_by_counts_flows_per_group() {
    let out = observe()
        .args(["flows", "--input-file"])
        .arg(crate::util::fixture())
        .args(["--aggregate-by", "verdict,port", "--verdict", "DROPPED"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let table: Vec<Vec<&str>> = text
        .lines()
        .skip_while(|l| !l.starts_with("VERDICT"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        table[0],
        ["VERDICT", "PORT", "FLOWS", "FIRST", "LAST"],
        "{text}"
    );
    // The fixture's biggest groups (two drops each) come first, ties by their keys.
    assert_eq!(&table[1][..3], ["DROPPED", "80/TCP", "2"], "{text}");
    assert_eq!(&table[2][..3], ["DROPPED", "8080/TCP", "2"], "{text}");
    let total: u64 = table[1..]
        .iter()
        .map(|r| r[2].parse::<u64>().unwrap())
        .sum();
    let each = observe()
        .args(["flows", "--input-file"])
        .arg(crate::util::fixture())
        .args(["--verdict", "DROPPED", "-o", "jsonpb"])
        .output()
        .unwrap();
    let flows = String::from_utf8_lossy(&each.stdout)
        .lines()
        .filter(|l| l.contains("\"flow\""))
        .count() as u64;
    assert_eq!(total, flows, "every drop counted once: {text}");

    let follow = observe()
        .args(["flows", "--aggregate-by", "source", "--follow"])
        .output()
        .unwrap();
    assert!(!follow.status.success());
    assert!(String::from_utf8_lossy(&follow.stderr).contains("cannot follow"));
}
