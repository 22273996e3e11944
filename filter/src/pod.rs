//! `source_pod` / `destination_pod`: `namespace/name-prefix`, `namespace/` (the whole
//! namespace), `/name-prefix` (any namespace); a bare `name-prefix` means the `default`
//! namespace, as in Hubble.

use observe_proto::flow::{Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the pod filters.
pub struct PodFilter;

impl FilterBuilder for PodFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        let mut out = Vec::new();
        if !filter.source_pod.is_empty() {
            let names = parse_names("source_pod", &filter.source_pod)?;
            out.push(by_name(names, |f| {
                f.source.as_ref().map(|e| (&*e.namespace, &*e.pod_name))
            }));
        }
        if !filter.destination_pod.is_empty() {
            let names = parse_names("destination_pod", &filter.destination_pod)?;
            out.push(by_name(names, |f| {
                f.destination
                    .as_ref()
                    .map(|e| (&*e.namespace, &*e.pod_name))
            }));
        }
        Ok(out)
    }
}

/// A namespace (empty: any) and a name prefix (empty: any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NamespacedName {
    namespace: String,
    prefix: String,
}

impl NamespacedName {
    fn parse(text: &str) -> Result<Self, String> {
        let (namespace, prefix) = match text.split_once('/') {
            Some((_, rest)) if rest.contains('/') => return Err("more than one '/'".into()),
            Some((namespace, prefix)) => (namespace, prefix),
            None if text.is_empty() => return Err("must not be empty".into()),
            None => ("default", text),
        };
        Ok(Self {
            namespace: namespace.into(),
            prefix: prefix.into(),
        })
    }

    fn matches(&self, namespace: &str, name: &str) -> bool {
        (self.namespace.is_empty() || self.namespace == namespace) && name.starts_with(&self.prefix)
    }
}

/// Parses every value of a pod or service field.
pub(crate) fn parse_names(
    field: &'static str,
    values: &[String],
) -> Result<Vec<NamespacedName>, FilterError> {
    values
        .iter()
        .map(|v| NamespacedName::parse(v).map_err(|reason| FilterError::invalid(field, v, reason)))
        .collect()
}

/// Matches when the flow's (namespace, name) for that side fits any of `names`; a side
/// with neither namespace nor name matches nothing.
pub(crate) fn by_name(
    names: Vec<NamespacedName>,
    side: fn(&Flow) -> Option<(&str, &str)>,
) -> FilterFn {
    Box::new(move |flow| match side(flow) {
        Some(("", "")) | None => false,
        Some((namespace, name)) => names.iter().any(|n| n.matches(namespace, name)),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{Flow, FlowFilter};

    fn pods(src: (&str, &str), dst: (&str, &str)) -> Flow {
        with_endpoints(
            forwarded(),
            endpoint(src.0, src.1, 1, &[]),
            endpoint(dst.0, dst.1, 2, &[]),
        )
    }

    fn source(values: &[&str]) -> FlowFilter {
        FlowFilter {
            source_pod: values.iter().map(|v| v.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn namespace_and_prefix_forms() {
        let flow = pods(("kube-system", "coredns-abc"), ("default", "web-1"));
        check(
            source(&["kube-system/coredns-"]),
            &[("ns/prefix", flow.clone(), true)],
        );
        check(
            source(&["kube-system/"]),
            &[("whole namespace", flow.clone(), true)],
        );
        check(
            source(&["/coredns"]),
            &[("any namespace", flow.clone(), true)],
        );
        check(
            source(&["coredns"]),
            &[("bare name means default", flow.clone(), false)],
        );
        check(
            source(&["web"]),
            &[("default/web is the destination", flow.clone(), false)],
        );
        check(
            source(&["other/", "kube-system/core"]),
            &[("any value", flow.clone(), true)],
        );
        check(
            source(&["/"]),
            &[
                ("everything with a name", flow, true),
                ("no endpoint", forwarded(), false),
            ],
        );
        let destination = FlowFilter {
            destination_pod: vec!["web".into()],
            ..Default::default()
        };
        check(
            destination,
            &[(
                "bare name in default",
                pods(("a", "b"), ("default", "web-1")),
                true,
            )],
        );
    }

    #[test]
    fn empty_and_nested_values_are_rejected() {
        assert!(
            build_err(source(&[""]))
                .to_string()
                .contains("must not be empty")
        );
        assert!(
            build_err(source(&["a/b/c"]))
                .to_string()
                .contains("more than one")
        );
    }
}
