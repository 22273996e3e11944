//! Workload manifests: `apps/v1` Deployment, StatefulSet, DaemonSet, ReplicaSet and
//! `batch/v1` Job and CronJob. Only the pod template (its labels and the pod spec a Pod
//! has), the selector that must match it, and the pod count are read; the rest
//! (strategies, volumes, schedules) is ignored.

use std::collections::BTreeMap;

use super::cluster_objects::read_pod_spec;
use super::cursor::{Cursor, MapCursor};
use super::meta::{read_labels, read_meta};
use super::selector::{KeyStyle, read_selector};
use crate::cluster::{MAX_REPLICAS, PodTemplate, Workload, WorkloadKind, WorkloadRef};
use crate::labels::{Label, LabelSet};

/// Reads a workload of kind `kind`.
pub fn read_workload(doc: &MapCursor<'_>, kind: WorkloadKind) -> Option<Workload> {
    doc.ignore(&["status"]);
    let meta = read_meta(doc, true)?;
    let Some(spec) = doc.get("spec") else {
        doc.cursor().error("missing field \"spec\"");
        return None;
    };
    let spec = spec.map()?;
    let (template_owner, replicas) = match kind {
        WorkloadKind::CronJob => (job_spec_of_cronjob(&spec)?, Some(1)),
        WorkloadKind::Job => {
            let replicas = job_pods(&spec);
            (spec, replicas)
        }
        WorkloadKind::DaemonSet => (spec, Some(1)),
        _ => {
            let replicas = count(&spec, "replicas");
            (spec, replicas)
        }
    };
    let template = read_template(&template_owner, kind)?;
    let replicas = replicas?;
    Some(Workload {
        key: WorkloadRef {
            kind,
            namespace: meta.namespace,
            name: meta.name,
        },
        template,
        replicas,
        addresses: BTreeMap::new(),
    })
}

/// A CronJob's `spec.jobTemplate.spec`, which holds the pod template.
fn job_spec_of_cronjob<'a>(spec: &MapCursor<'a>) -> Option<MapCursor<'a>> {
    let Some(job) = spec.get("jobTemplate") else {
        spec.cursor().error("missing field \"jobTemplate\"");
        return None;
    };
    let job = job.map()?;
    let Some(job_spec) = job.get("spec") else {
        job.cursor().error("missing field \"spec\"");
        return None;
    };
    job_spec.map()
}

/// A Job's running pods: `parallelism` (default 1), at most `completions`.
fn job_pods(spec: &MapCursor<'_>) -> Option<u32> {
    let parallelism = count(spec, "parallelism")?;
    match spec.get("completions") {
        None => Some(parallelism),
        Some(_) => Some(parallelism.min(count(spec, "completions")?)),
    }
}

/// A pod count field: 0 to [`MAX_REPLICAS`], 1 when absent.
fn count(spec: &MapCursor<'_>, field: &str) -> Option<u32> {
    let Some(c) = spec.get(field) else {
        return Some(1);
    };
    let n = c.int(false)?;
    match u32::try_from(n) {
        Ok(n) if n <= MAX_REPLICAS => Some(n),
        Ok(_) => {
            c.error(format!(
                "invalid value {n}: at most {MAX_REPLICAS} pods per workload are supported"
            ));
            None
        }
        Err(_) => {
            c.invalid("a non-negative integer");
            None
        }
    }
}

/// Reads `template` of `owner` (a workload's or a job template's `spec`) and checks it
/// against `owner.selector`.
fn read_template(owner: &MapCursor<'_>, kind: WorkloadKind) -> Option<PodTemplate> {
    let Some(template) = owner.get("template") else {
        owner.cursor().error("missing field \"template\"");
        return None;
    };
    let template = template.map()?;
    let labels = template
        .get("metadata")
        .and_then(|c| c.map())
        .and_then(|m| m.get("labels"))
        .map(|c| read_labels(&c))
        .unwrap_or_default();
    let spec = read_pod_spec(&template);
    check_selector(owner, &template, &labels, kind)?;
    Some(PodTemplate {
        labels,
        node: spec.node,
        service_account: spec.service_account,
        ports: spec.ports,
    })
}

/// The selector must select the template's pods, as the API server requires; apps/v1
/// kinds must have one, Jobs and CronJobs may leave it to Kubernetes.
fn check_selector(
    owner: &MapCursor<'_>,
    template: &MapCursor<'_>,
    labels: &BTreeMap<String, String>,
    kind: WorkloadKind,
) -> Option<()> {
    let required = !matches!(kind, WorkloadKind::Job | WorkloadKind::CronJob);
    let Some(c) = owner.get("selector") else {
        if required {
            owner.cursor().error("missing field \"selector\"");
            return None;
        }
        return Some(());
    };
    let selector = read_selector(&c, KeyStyle::Kubernetes)?;
    if selector.is_all() {
        c.error("an empty selector is invalid: it would select every pod of the namespace");
        return None;
    }
    let set = LabelSet::new(labels.iter().map(|(k, v)| Label::k8s(k.clone(), v.clone())));
    if !selector.matches(&set) {
        let at = template_labels_path(template);
        c.error(format!(
            "the selector does not match the template's labels ({at}): the API server rejects such a {}",
            kind.as_str()
        ));
        return None;
    }
    Some(())
}

fn template_labels_path(template: &MapCursor<'_>) -> String {
    let c: &Cursor<'_> = template.cursor();
    format!("{}.metadata.labels", c.path())
}
