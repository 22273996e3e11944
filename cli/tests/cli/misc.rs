//! The config file and its precedence, completions and the man page.

use crate::util::{assert_one_line_error, observe, stdout};

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
