//! `node_name`: node name patterns, `node`, `cluster/node`, `cluster/` (any node of the
//! cluster) or `/node`; an omitted part matches any name. Node names without a cluster
//! belong to the cluster `default`, as in Hubble.

use observe_proto::flow::{Flow, FlowFilter};

use super::glob::{Glob, is_name};
use super::{FilterBuilder, FilterError, FilterFn};

/// The cluster of node names that do not say.
const DEFAULT_CLUSTER: &str = "default";

/// Builds the `node_name` filter.
pub struct NodeNameFilter;

impl FilterBuilder for NodeNameFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.node_name.is_empty() {
            return Ok(vec![]);
        }
        let patterns = filter
            .node_name
            .iter()
            .map(|v| {
                NodePattern::parse(v).map_err(|reason| FilterError::invalid("node_name", v, reason))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(vec![Box::new(move |flow: &Flow| {
            if flow.node_name.is_empty() {
                return false;
            }
            let (cluster, node) = flow
                .node_name
                .split_once('/')
                .unwrap_or((DEFAULT_CLUSTER, &flow.node_name));
            patterns.iter().any(|p| p.matches(cluster, node))
        })])
    }
}

/// A cluster part and a node part; `None` matches any name.
struct NodePattern {
    cluster: Option<Glob>,
    node: Option<Glob>,
}

impl NodePattern {
    fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("empty pattern".into());
        }
        let (cluster, node) = match text.split_once('/') {
            Some((_, rest)) if rest.contains('/') => return Err("too many '/'".into()),
            Some((cluster, node)) => (cluster, node),
            None => ("", text),
        };
        let part = |p: &str| (!p.is_empty()).then(|| Glob::parse(p)).transpose();
        Ok(Self {
            cluster: part(cluster)?,
            node: part(node)?,
        })
    }

    fn matches(&self, cluster: &str, node: &str) -> bool {
        let fits = |glob: &Option<Glob>, name: &str| match glob {
            Some(glob) => glob.matches(name),
            None => is_name(name),
        };
        fits(&self.cluster, cluster) && fits(&self.node, node)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{Flow, FlowFilter};

    fn on(node: &str) -> Flow {
        Flow {
            node_name: node.into(),
            ..forwarded()
        }
    }

    fn filter(patterns: &[&str]) -> FlowFilter {
        FlowFilter {
            node_name: patterns.iter().map(|p| p.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn globs_with_and_without_cluster() {
        check(
            filter(&["k8s*"]),
            &[
                ("match", on("k8s1"), true),
                ("clustered", on("mesh/k8s2"), true),
                ("no match", on("worker"), false),
                ("no node name", forwarded(), false),
            ],
        );
        check(
            filter(&["mesh/"]),
            &[
                ("any node of mesh", on("mesh/a"), true),
                ("default cluster", on("a"), false),
            ],
        );
        check(
            filter(&["default/worker-*"]),
            &[("implicit default cluster", on("worker-3"), true)],
        );
        check(
            filter(&["*.domain.com"]),
            &[("suffix", on("n1.domain.com"), true)],
        );
    }

    #[test]
    fn bad_patterns_are_rejected() {
        for bad in ["", "a/b/c", "node!", "a../b"] {
            let err = build_err(filter(&[bad]));
            assert!(
                err.to_string().starts_with("invalid node_name filter"),
                "{err}"
            );
        }
    }
}
