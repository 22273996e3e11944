//! `cargo xtask demo`: the policy engine on the example manifests in `examples/`: a few
//! traces that show an allow, a default-deny drop and an explicit deny, then the
//! reachability matrix.

use crate::cmd;

/// Options of `cargo xtask demo`.
#[derive(clap::Args)]
pub struct Args {}

const TRACES: &[&[&str]] = &[
    &[
        "--from",
        "shop/frontend",
        "--to",
        "shop/backend",
        "--dport",
        "8080",
    ],
    &[
        "--from",
        "shop/frontend",
        "--to",
        "shop/backend",
        "--dport",
        "9090",
    ],
    &[
        "--from",
        "shop/frontend",
        "--to",
        "shop/db",
        "--dport",
        "5432",
    ],
    &[
        "--from",
        "shop/backend",
        "--to",
        "203.0.113.10",
        "--dport",
        "443",
        "--reply",
    ],
];

/// Runs `cargo xtask demo`.
pub fn run(_args: &Args) -> anyhow::Result<()> {
    cmd::run(cmd::cargo().args(["build", "-q", "-p", "observe-cli"]))?;
    let observe = cmd::root().join("target/debug/observe");
    for flow in TRACES {
        println!("\n$ observe policy trace -f examples/ {}", flow.join(" "));
        let mut trace = std::process::Command::new(&observe);
        trace
            .args(["policy", "trace", "-f", "examples/"])
            .args(*flow);
        cmd::run(&mut trace)?;
    }
    println!("\n$ observe policy matrix -f examples/ --ports 8080/TCP,5432/TCP,9090/TCP");
    let mut matrix = std::process::Command::new(&observe);
    matrix.args([
        "policy",
        "matrix",
        "-f",
        "examples/",
        "--ports",
        "8080/TCP,5432/TCP,9090/TCP",
    ]);
    cmd::run(&mut matrix)?;
    println!(
        "\nNext: edit examples/policies.yaml and re-run, or try `observe policy validate -f examples/`."
    );
    Ok(())
}
