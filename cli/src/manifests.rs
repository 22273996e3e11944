//! Loading manifests for offline commands: read `-f` inputs, parse them (printing warnings
//! on stderr), and build an engine.

use anyhow::{Context, Result};
use enforcer::engine::{Engine, EngineConfig};
use enforcer::manifest::{self, Manifests};

use crate::args::ManifestArgs;

/// Reads and parses the manifests; errors list every problem.
pub fn load(args: &ManifestArgs) -> Result<Manifests> {
    let inputs = manifest::read_inputs(&args.files).context("cannot read manifests")?;
    let parsed = manifest::parse(&inputs)?;
    for w in &parsed.warnings {
        eprintln!("{w}");
    }
    Ok(parsed)
}

/// An engine with the manifests applied.
pub fn engine(args: &ManifestArgs) -> Result<Engine> {
    let parsed = load(args)?;
    // Offline, host policies in the files are traced as an agent with
    // --enable-host-firewall enforces them.
    let config = EngineConfig {
        cluster_name: args.cluster_name.clone(),
        host_firewall: true,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(config);
    engine
        .apply(parsed.into_objects())
        .context("cannot apply the manifests")?;
    Ok(engine)
}
