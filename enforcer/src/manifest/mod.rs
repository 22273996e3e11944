//! Manifests: multi-document YAML streams of Namespace, Pod, Node, workloads (Deployment,
//! StatefulSet, DaemonSet, ReplicaSet, Job, CronJob), Service, Endpoints, EndpointSlice,
//! ServiceAccount, CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy, parsed and validated into the
//! engine's model. Parsing is all-or-nothing: any error rejects the whole input, and
//! every error is reported with its file, document, object and field path.

mod cilium;
mod cluster_objects;
pub mod cursor;
pub mod diag;
mod duplicates;
mod knp;
mod meta;
mod selector;
mod service_backends;
mod services;
mod source;
mod workloads;
pub mod yaml;

use std::sync::Arc;

pub use diag::{Diagnostic, ManifestErrors, Severity};
pub use source::{Input, read_inputs};

use cursor::{Cursor, DocContext, MapCursor};

use crate::cluster::{
    EndpointSlice, Endpoints, Namespace, Node, Pod, Service, ServiceAccount, Workload, WorkloadKind,
};
use crate::policy::model::Policy;

/// One object from the manifests.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Object {
    /// A namespace.
    Namespace(Namespace),
    /// A pod.
    Pod(Pod),
    /// A node.
    Node(Node),
    /// A CNP, CCNP or KNP.
    Policy(Policy),
    /// A Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob: the pods it
    /// stands for.
    Workload(Workload),
    /// A Service: what `toServices` peers reach.
    Service(Service),
    /// An Endpoints: the addresses behind the Service of its name.
    Endpoints(Endpoints),
    /// An EndpointSlice: addresses behind the Service it is labelled with.
    EndpointSlice(EndpointSlice),
    /// A ServiceAccount (no effect on enforcement).
    ServiceAccount(ServiceAccount),
}

/// An object and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Located {
    /// The object.
    pub object: Object,
    /// File name.
    pub file: Arc<str>,
    /// 1-based document index in the file.
    pub document: usize,
}

/// The result of parsing manifests without errors.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Manifests {
    /// Objects in input order.
    pub objects: Vec<Located>,
    /// Warnings (skipped kinds, ignored fields).
    pub warnings: Vec<Diagnostic>,
}

impl Manifests {
    /// The objects, in input order, without where they came from.
    pub fn into_objects(self) -> Vec<Object> {
        self.objects.into_iter().map(|l| l.object).collect()
    }
}

/// Parses every input; fails with every error found if any. Diagnostics come in document
/// order (input, document, line, column); an object defined twice is kept once, the last
/// definition winning, with a warning on each earlier one.
pub fn parse(inputs: &[Input]) -> Result<Manifests, ManifestErrors> {
    let mut diags: Vec<(usize, Diagnostic)> = Vec::new();
    let mut found = Vec::new();
    for (index, input) in inputs.iter().enumerate() {
        let file: Arc<str> = input.name.as_str().into();
        let docs = match yaml::parse_stream(&input.text) {
            Ok(d) => d,
            Err(e) => {
                diags.push((index, syntax_error(&file, e)));
                continue;
            }
        };
        for (i, doc) in docs.iter().enumerate() {
            let ctx = DocContext::new(file.clone(), i + 1);
            let objects = read_document(&Cursor::root(doc, &ctx));
            diags.extend(ctx.take().into_iter().map(|d| (index, d)));
            found.extend(objects.into_iter().map(|object| duplicates::Found {
                located: Located {
                    object,
                    file: file.clone(),
                    document: i + 1,
                },
                input: index,
                line: doc.line,
                col: doc.col,
            }));
        }
    }
    let (found, replaced) = duplicates::keep_last(found);
    diags.extend(replaced);
    let (errors, warnings) = diag::in_document_order(diags);
    if !errors.is_empty() {
        return Err(ManifestErrors(errors));
    }
    Ok(Manifests {
        objects: found.into_iter().map(|f| f.located).collect(),
        warnings,
    })
}

fn syntax_error(file: &Arc<str>, e: yaml::SyntaxError) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        file: file.clone(),
        document: 0,
        line: e.line,
        col: e.col,
        object: None,
        path: String::new(),
        message: format!("invalid YAML: {}", e.message),
    }
}

/// Parses a single YAML text (tests, fuzzing, stdin).
pub fn parse_str(name: &str, text: &str) -> Result<Manifests, ManifestErrors> {
    parse(&[Input {
        name: name.into(),
        text: text.into(),
    }])
}

fn read_document(c: &Cursor<'_>) -> Vec<Object> {
    if c.is_null() {
        return Vec::new();
    }
    let Some(m) = c.map() else { return Vec::new() };
    let (Some(api_version), Some(kind)) = (m.get("apiVersion"), m.get("kind")) else {
        c.error("a manifest needs \"apiVersion\" and \"kind\"");
        return Vec::new();
    };
    let (Some(api), Some(kind_name)) = (api_version.string(), kind.string()) else {
        return Vec::new();
    };
    if kind_name == "List" && api == "v1" {
        return read_list(&m);
    }
    let Some(expected) = expected_api_version(kind_name) else {
        kind.warn(format!("skipped: kind {kind_name:?} is not a Namespace, Pod, Node, workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob), Service, Endpoints, EndpointSlice, ServiceAccount, CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or NetworkPolicy"));
        return Vec::new();
    };
    if api != expected {
        api_version.invalid(&format!("{expected:?} for kind {kind_name}"));
        return Vec::new();
    }
    let object = read_object(&m, kind_name);
    m.finish();
    object.into_iter().collect()
}

fn read_list(m: &MapCursor<'_>) -> Vec<Object> {
    let mut out = Vec::new();
    for item in m.get("items").and_then(|c| c.seq()).unwrap_or_default() {
        out.extend(read_document(&item));
    }
    m.ignore(&["metadata"]);
    m.finish();
    out
}

fn expected_api_version(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Namespace" | "Pod" | "Node" | "Service" | "Endpoints" | "ServiceAccount" => "v1",
        "EndpointSlice" => "discovery.k8s.io/v1",
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => "apps/v1",
        "Job" | "CronJob" => "batch/v1",
        "CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy" => "cilium.io/v2",
        "NetworkPolicy" => "networking.k8s.io/v1",
        _ => return None,
    })
}

fn read_object(m: &MapCursor<'_>, kind: &str) -> Option<Object> {
    match kind {
        "Namespace" => {
            m.ignore(&["spec", "status"]);
            cluster_objects::read_namespace(m).map(Object::Namespace)
        }
        "Pod" => {
            m.ignore(&["spec", "status"]);
            cluster_objects::read_pod(m).map(Object::Pod)
        }
        "Node" => {
            m.ignore(&["spec", "status"]);
            cluster_objects::read_node(m).map(Object::Node)
        }
        "CiliumNetworkPolicy" => cilium::read_policy(m, false).map(Object::Policy),
        "CiliumClusterwideNetworkPolicy" => cilium::read_policy(m, true).map(Object::Policy),
        "NetworkPolicy" => knp::read_network_policy(m).map(Object::Policy),
        "Service" => services::read_service(m).map(Object::Service),
        "ServiceAccount" => services::read_service_account(m).map(Object::ServiceAccount),
        "Endpoints" => service_backends::read_endpoints(m).map(Object::Endpoints),
        "EndpointSlice" => service_backends::read_endpoint_slice(m).map(Object::EndpointSlice),
        _ => WorkloadKind::from_kind(kind)
            .and_then(|k| workloads::read_workload(m, k))
            .map(Object::Workload),
    }
}

/// Parses `text` as exactly one object, without warnings: the readers' unit tests.
#[cfg(test)]
pub(crate) fn parse_one(name: &str, text: &str) -> Result<Object, String> {
    let m = parse_str(name, text).map_err(|e| e.to_string())?;
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let mut objects = m.into_objects();
    assert_eq!(objects.len(), 1, "{objects:?}");
    Ok(objects.remove(0))
}

#[cfg(test)]
mod tests;
