//! `cargo xtask setup`: installs, idempotently, what building and testing the datapath
//! needs on a fresh Debian 12 machine (see shared/reference/aya-notes.md §2):
//!
//! - apt: `llvm-22-dev` (bpf-linker's LLVM; from bookworm-security), `iproute2` and
//!   `iputils-ping` (the lab), `tmux` (the TUI's pseudo-terminal test), `etcd-server` (the
//!   cluster store of multi-node labs and tests: a real etcd, started by the harness),
//!   `protobuf-compiler` (`protoc`, which the `etcd-client` crate's build script needs to
//!   compile etcd's protos for kvstore/) with `libprotobuf-dev` (the well-known types those
//!   protos import), and `bpftool` (optional: inspection only);
//! - `rust-src` for the stable toolchain (the eBPF crate is built with `-Z build-std=core` on
//!   stable with `RUSTC_BOOTSTRAP=1`, so no nightly is needed);
//! - `bpf-linker` 0.13.0 against LLVM 22;
//! - bpffs mounted at `/sys/fs/bpf`.
//!
//! Each step checks first and says what it skips. Without root, it reports what is missing
//! instead of installing (apt, mount), and still does what needs no root (rustup, cargo).

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use crate::cmd;

/// apt packages the build and the tests need.
const APT_REQUIRED: [&str; 7] = [
    "llvm-22-dev",
    "iproute2",
    "iputils-ping",
    "tmux",
    "etcd-server",
    "protobuf-compiler",
    // protobuf's well-known types (google/protobuf/*.proto), which etcd-client's protos
    // import: only recommended by protobuf-compiler, so absent where it came without them.
    "libprotobuf-dev",
];
/// apt packages that are nice to have.
const APT_OPTIONAL: [&str; 1] = ["bpftool"];
const BPF_LINKER_VERSION: &str = "0.13.0";
const LLVM_PREFIX: &str = "/usr/lib/llvm-22";

/// Options of `cargo xtask setup`.
#[derive(clap::Args, Default)]
pub struct Args {}

/// Runs `cargo xtask setup`.
pub fn run(_args: &Args) -> anyhow::Result<()> {
    let root = lab::is_root();
    if !root {
        eprintln!("setup: not root: apt packages and the bpffs mount are only checked");
    }
    apt_packages(root)?;
    rust_src()?;
    bpf_linker()?;
    bpffs(root)?;
    eprintln!("setup: done");
    Ok(())
}

/// Whether dpkg has `package` installed.
fn apt_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn apt_packages(root: bool) -> anyhow::Result<()> {
    let missing: Vec<&str> = APT_REQUIRED
        .iter()
        .copied()
        .filter(|p| !apt_installed(p))
        .collect();
    let missing_optional: Vec<&str> = APT_OPTIONAL
        .iter()
        .copied()
        .filter(|p| !apt_installed(p))
        .collect();
    for p in APT_REQUIRED
        .iter()
        .chain(&APT_OPTIONAL)
        .filter(|p| apt_installed(p))
    {
        eprintln!("setup: skip apt {p}: installed");
    }
    if missing.is_empty() && missing_optional.is_empty() {
        return Ok(());
    }
    if !root {
        eprintln!(
            "setup: needed as root: apt-get install -y {}",
            [&missing[..], &missing_optional[..]].concat().join(" ")
        );
        return Ok(());
    }
    cmd::run(
        Command::new("apt-get")
            .arg("update")
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    if !missing.is_empty() {
        // llvm-22-dev comes from bookworm-security, which a stock Debian 12 lists.
        cmd::run(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }
    for p in missing_optional {
        let installed = cmd::run(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends", p])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        );
        if let Err(e) = installed {
            eprintln!("setup: optional apt {p} not installed: {e}");
        }
    }
    Ok(())
}

fn rust_src() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["component", "list", "--installed", "--toolchain", "stable"])
        .output()
        .context("cannot run rustup")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.starts_with("rust-src"))
    {
        eprintln!("setup: skip rust-src: installed for stable");
        return Ok(());
    }
    cmd::run(Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", "stable"]))
}

fn bpf_linker() -> anyhow::Result<()> {
    let version = Command::new("bpf-linker").arg("--version").output();
    if let Ok(out) = &version {
        let text = String::from_utf8_lossy(&out.stdout);
        if text.split_whitespace().any(|w| w == BPF_LINKER_VERSION) {
            eprintln!("setup: skip bpf-linker: {} installed", text.trim());
            return Ok(());
        }
    }
    if !Path::new(LLVM_PREFIX).join("bin/llvm-config").exists() {
        eprintln!("setup: bpf-linker needs {LLVM_PREFIX} (apt llvm-22-dev); skipping it for now");
        return Ok(());
    }
    // LLVM_PREFIX, not LLVM_SYS_*_PREFIX: bpf-linker's build script reads this one.
    cmd::run(
        cmd::cargo()
            .args([
                "install",
                "bpf-linker",
                "--locked",
                "--version",
                BPF_LINKER_VERSION,
            ])
            .args(["--no-default-features", "--features", "llvm-22"])
            .env("LLVM_PREFIX", LLVM_PREFIX),
    )
}

/// Whether bpffs is mounted at `/sys/fs/bpf`.
fn bpffs_mounted() -> bool {
    std::fs::read_to_string("/proc/mounts")
        .map(|m| {
            m.lines().any(|l| {
                l.split_whitespace().nth(1) == Some("/sys/fs/bpf")
                    && l.split_whitespace().nth(2) == Some("bpf")
            })
        })
        .unwrap_or(false)
}

fn bpffs(root: bool) -> anyhow::Result<()> {
    if bpffs_mounted() {
        eprintln!("setup: skip bpffs: mounted at /sys/fs/bpf");
        return Ok(());
    }
    if !root {
        eprintln!("setup: needed as root: mount -t bpf bpffs /sys/fs/bpf");
        return Ok(());
    }
    cmd::run(Command::new("mount").args(["-t", "bpf", "bpffs", "/sys/fs/bpf"]))
}
