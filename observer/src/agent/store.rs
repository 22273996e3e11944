//! The agent's persistent state: every applied object, the local endpoints created for
//! pods, and the rule cookies in use. Written atomically after each change; read at start
//! so a restarted agent rebuilds the same engine state, finds its endpoints, and writes
//! the same map entries under the same cookies (nothing to change, no verdict flips).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use enforcer::cluster::PodKey;
use enforcer::manifest::Object;
use enforcer::mapstate::RuleSet;
use serde::{Deserialize, Serialize};

/// A local endpoint as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRecord {
    /// The pod.
    pub pod: PodKey,
    /// Datapath endpoint id.
    pub id: u16,
    /// Network namespace name.
    pub netns: String,
    /// Host-side interface in the node namespace.
    pub host_ifname: String,
    /// Whether the agent created the namespace (and deletes it with the pod).
    pub created: bool,
    /// The addresses the endpoint was configured with.
    pub ips: Vec<std::net::IpAddr>,
}

/// Everything persisted.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Format version.
    pub version: u32,
    /// Applied objects, by key text (`Pod shop/web`, `CiliumNetworkPolicy shop/p`, ...).
    pub objects: BTreeMap<String, Object>,
    /// Local endpoints.
    pub endpoints: Vec<EndpointRecord>,
    /// Last cookie handed out.
    pub last_cookie: u32,
    /// Cookies in use and their rules.
    pub cookies: Vec<(u32, RuleSet)>,
}

/// Where the state lives.
pub struct Store {
    path: PathBuf,
}

impl Store {
    /// A store in `dir` (created if missing).
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create state directory {}", dir.display()))?;
        Ok(Self {
            path: dir.join("state.json"),
        })
    }

    /// The saved state, or an empty one on first start.
    pub fn load(&self) -> Result<State> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("cannot read agent state {}", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State {
                version: 1,
                ..State::default()
            }),
            Err(e) => {
                Err(e).with_context(|| format!("cannot read agent state {}", self.path.display()))
            }
        }
    }

    /// Saves the state atomically (write a temporary file, then rename).
    pub fn save(&self, state: &State) -> Result<()> {
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(state).context("cannot encode agent state")?;
        std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path)
            .with_context(|| format!("cannot replace {}", self.path.display()))
    }
}
