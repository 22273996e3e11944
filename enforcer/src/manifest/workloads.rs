//! Workload manifests: `apps/v1` Deployment, StatefulSet, DaemonSet, ReplicaSet and
//! `batch/v1` Job and CronJob. Only the pod template (its labels and the pod spec a Pod
//! has), the selector that must match it, and the pod count are read; the rest
//! (strategies, volumes, schedules) is ignored.

use std::collections::BTreeMap;

use super::cluster_objects::read_pod_spec;
use super::cursor::MapCursor;
use super::meta::{name_object, read_labels, read_meta};
use super::selector::{KeyStyle, read_selector};
use crate::cluster::{MAX_REPLICAS, PodTemplate, Workload, WorkloadKind, WorkloadRef};
use crate::labels::{Label, LabelSet};

/// Reads a workload of kind `kind`.
pub fn read_workload(doc: &MapCursor<'_>, kind: WorkloadKind) -> Option<Workload> {
    doc.ignore(&["status"]);
    let meta = read_meta(doc, true)?;
    name_object(doc, kind.as_str(), &meta.namespace, &meta.name);
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
        c.error(format!(
            "the selector does not match the template's labels ({}.metadata.labels): the API server rejects such a {}",
            template.cursor().path(),
            kind.as_str()
        ));
        return None;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use crate::cluster::{Workload, WorkloadKind};
    use crate::manifest::{Object, parse_one};

    const TEMPLATE: &str = "
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      serviceAccountName: web-sa
      initContainers:
      - name: init
      containers:
      - name: web
        ports:
        - {name: http, containerPort: 8080}
        - {containerPort: 9090, protocol: UDP}";

    fn workload(api: &str, kind: &str, spec: &str) -> Result<Workload, String> {
        let text = format!(
            "apiVersion: {api}\nkind: {kind}\nmetadata: {{name: web, namespace: shop}}\nspec:\n{spec}\n"
        );
        match parse_one("w.yaml", &text)? {
            Object::Workload(w) => Ok(w),
            other => panic!("{other:?}"),
        }
    }

    fn apps(kind: &str, spec: &str) -> Result<Workload, String> {
        workload("apps/v1", kind, spec)
    }

    #[test]
    fn every_workload_kind_is_read_with_its_template_labels_ports_service_account_and_namespace() {
        let selector = "  selector: {matchLabels: {app: web}}";
        let cases = [
            (
                "apps/v1",
                "Deployment",
                format!("  replicas: 3\n{selector}{TEMPLATE}"),
                3,
            ),
            (
                "apps/v1",
                "StatefulSet",
                format!("  serviceName: web\n{selector}{TEMPLATE}"),
                1,
            ),
            ("apps/v1", "DaemonSet", format!("{selector}{TEMPLATE}"), 1),
            (
                "apps/v1",
                "ReplicaSet",
                format!("  replicas: 0\n{selector}{TEMPLATE}"),
                0,
            ),
            ("batch/v1", "Job", format!("  parallelism: 2{TEMPLATE}"), 2),
            (
                "batch/v1",
                "CronJob",
                format!(
                    "  schedule: \"@hourly\"\n  jobTemplate:\n    spec:\n      parallelism: 5\n{}",
                    TEMPLATE
                        .replace("\n  ", "\n      ")
                        .trim_start_matches('\n')
                ),
                1,
            ),
        ];
        for (api, kind, spec, replicas) in cases {
            let w = workload(api, kind, &spec).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(w.key.kind, WorkloadKind::from_kind(kind).unwrap());
            assert_eq!(
                (w.key.namespace.as_str(), w.key.name.as_str()),
                ("shop", "web")
            );
            assert_eq!(w.template.labels["tier"], "front", "{kind}");
            assert_eq!(w.template.service_account, "web-sa", "{kind}");
            let ports: Vec<_> = w
                .template
                .ports
                .iter()
                .map(|p| (p.name.clone(), p.port))
                .collect();
            assert_eq!(ports, [(Some("http".into()), 8080), (None, 9090)], "{kind}");
            assert_eq!(w.replicas, replicas, "{kind}");
        }
    }

    #[test]
    fn a_selector_that_does_not_match_the_template_labels_is_an_error() {
        let err = apps(
            "Deployment",
            &format!("  selector: {{matchLabels: {{app: api}}}}{TEMPLATE}"),
        )
        .unwrap_err();
        assert!(err.contains("spec.selector: the selector does not match the template's labels (spec.template.metadata.labels)"), "{err}");
        assert!(
            err.contains("document 1 (Deployment shop/web): spec.selector"),
            "{err}"
        );
        let err = apps(
            "StatefulSet",
            &format!("  selector:\n    matchExpressions: [{{key: app, operator: NotIn, values: [web]}}]{TEMPLATE}"),
        )
        .unwrap_err();
        assert!(err.contains("does not match"), "{err}");
        let err = workload(
            "batch/v1",
            "Job",
            &format!("  selector: {{matchLabels: {{app: other}}}}{TEMPLATE}"),
        )
        .unwrap_err();
        assert!(err.contains("does not match"), "{err}");
    }

    #[test]
    fn an_apps_workload_needs_a_selector_and_an_empty_one_is_an_error() {
        let err = apps("ReplicaSet", TEMPLATE).unwrap_err();
        assert!(err.contains("missing field \"selector\""), "{err}");
        let err = apps("DaemonSet", &format!("  selector: {{}}{TEMPLATE}")).unwrap_err();
        assert!(
            err.contains("spec.selector: an empty selector is invalid"),
            "{err}"
        );
        assert!(workload("batch/v1", "Job", TEMPLATE).is_ok());
    }

    #[test]
    fn absurd_or_negative_replica_counts_are_errors() {
        let selector = "  selector: {matchLabels: {app: web}}";
        let err = apps(
            "Deployment",
            &format!("  replicas: 5000\n{selector}{TEMPLATE}"),
        )
        .unwrap_err();
        assert!(
            err.contains("spec.replicas: invalid value 5000: at most 1000 pods per workload"),
            "{err}"
        );
        let err = apps(
            "Deployment",
            &format!("  replicas: -1\n{selector}{TEMPLATE}"),
        )
        .unwrap_err();
        assert!(err.contains("spec.replicas: invalid value \"-1\""), "{err}");
        assert_eq!(
            apps(
                "Deployment",
                &format!("  replicas: 1000\n{selector}{TEMPLATE}")
            )
            .unwrap()
            .replicas,
            1000
        );
    }

    #[test]
    fn a_job_runs_its_parallelism_but_no_more_pods_than_completions() {
        let job = |spec: &str| workload("batch/v1", "Job", &format!("{spec}{TEMPLATE}")).unwrap();
        assert_eq!(job("").replicas, 1);
        assert_eq!(job("  parallelism: 4\n  completions: 2\n").replicas, 2);
        assert_eq!(job("  parallelism: 4\n  completions: 9\n").replicas, 4);
    }

    #[test]
    fn a_workload_without_a_template_or_a_cronjob_without_a_job_template_is_an_error() {
        let err = apps("Deployment", "  selector: {matchLabels: {app: web}}").unwrap_err();
        assert!(err.contains("spec: missing field \"template\""), "{err}");
        let err = workload("batch/v1", "CronJob", "  schedule: \"@daily\"").unwrap_err();
        assert!(err.contains("spec: missing field \"jobTemplate\""), "{err}");
        let err = workload("apps/v1", "Job", TEMPLATE).unwrap_err();
        assert!(err.contains("\"batch/v1\" for kind Job"), "{err}");
    }
}
