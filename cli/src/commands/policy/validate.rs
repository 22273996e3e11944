//! `observe policy validate`: parse and check manifests without applying them anywhere.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;
use enforcer::engine::{Engine, EngineConfig};
use enforcer::manifest::{self, Object};

use crate::args::ManifestArgs;

/// Validates; prints a summary, or every error and exits 1.
pub fn run(args: &ManifestArgs) -> Result<ExitCode> {
    let inputs = manifest::read_inputs(&args.files)?;
    let parsed = match manifest::parse(&inputs) {
        Ok(p) => p,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            eprintln!(
                "{} error(s); nothing is valid until all are fixed",
                errors.0.len()
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    for w in &parsed.warnings {
        eprintln!("{w}");
    }
    let summary = summarize(parsed.objects.iter().map(|l| &l.object));
    let mut engine = Engine::new(EngineConfig {
        cluster_name: args.cluster_name.clone(),
        ..EngineConfig::default()
    });
    if let Err(e) = engine.apply(parsed.objects.into_iter().map(|l| l.object)) {
        eprintln!("error: {e}");
        return Ok(ExitCode::FAILURE);
    }
    // Workloads stand for pods: say how many endpoints the manifests make, replicas counted.
    println!(
        "valid: {summary}, {} endpoint(s); {} warning(s)",
        engine.endpoints().count(),
        parsed.warnings.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn summarize<'a>(objects: impl Iterator<Item = &'a Object>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules = 0;
    for o in objects {
        let kind = match o {
            Object::Namespace(_) => "Namespace",
            Object::Pod(_) => "Pod",
            Object::Node(_) => "Node",
            Object::Workload(w) => w.key.kind.as_str(),
            Object::Service(_) => "Service",
            Object::Endpoints(_) => "Endpoints",
            Object::EndpointSlice(_) => "EndpointSlice",
            Object::ServiceAccount(_) => "ServiceAccount",
            Object::Policy(p) => {
                rules += p.rules.len();
                p.origin.kind.as_str()
            }
        };
        *counts.entry(kind).or_default() += 1;
    }
    let total: usize = counts.values().sum();
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    format!(
        "{total} object(s) ({}), {rules} policy rule(s)",
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    )
}
