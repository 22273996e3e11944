//! Shared by the datapath tests (each starts with `lab::require_root`): a unique bpffs pin
//! root per test, a frame builder for `BPF_PROG_TEST_RUN`, and policy/endpoint builders for
//! the pure layer.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

pub mod frame;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use enforcer::mapstate::resolve::{RawEntry, resolve};
use enforcer::mapstate::{Action, DirectionPolicy, L7Kind, PortRange};
use enforcer::policy::origin::{PolicyKind, PolicyRef, RuleRef};

/// A unique bpffs pin root for one test, removed (with everything pinned below it) on drop,
/// also when the test panics.
pub struct PinRoot(PathBuf);

impl PinRoot {
    /// `/sys/fs/bpf/obs-test-<pid>-<n>`.
    pub fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Self(PathBuf::from(format!(
            "/sys/fs/bpf/obs-test-{}-{n}",
            std::process::id()
        )))
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for PinRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A rule reference named `name` (what cookies resolve to).
pub fn rule(name: &str) -> RuleRef {
    let policy = Arc::new(PolicyRef {
        kind: PolicyKind::CiliumNetworkPolicy,
        namespace: "test".into(),
        name: name.into(),
    });
    RuleRef {
        policy,
        path: "spec.ingress[0]".into(),
    }
}

/// One raw policy entry: (peer identity or 0, protocol or 0, ports, action, rule name).
pub type Entry<'a> = (u32, u8, PortRange, Action, &'a str);

/// An enforced direction holding `entries`, resolved like the engine does.
pub fn enforced(entries: &[Entry<'_>]) -> DirectionPolicy {
    enforced_l7(entries, L7Kind::None)
}

/// [`enforced`], every entry carrying an L7 rule of `l7`'s kind.
pub fn enforced_l7(entries: &[Entry<'_>], l7: L7Kind) -> DirectionPolicy {
    let raw: Vec<RawEntry> = entries
        .iter()
        .map(|&(identity, protocol, ports, action, name)| RawEntry {
            identity,
            protocol,
            ports,
            action,
            rule: rule(name),
            l7,
        })
        .collect();
    DirectionPolicy {
        enforced: true,
        selecting: vec![],
        state: resolve(&raw),
        audit: None,
    }
}

/// A direction without enforcement.
pub fn open() -> DirectionPolicy {
    DirectionPolicy::default()
}
