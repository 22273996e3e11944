//! Flow filters: `FlowFilter` messages compiled once per request into closures, and
//! [`field_mask`], the one `GetFlowsRequest.field_mask`. The agent (GetFlows, the
//! exporter) and the clients (`observe flows --input-file`) use the same code, as Hubble's
//! CLI uses `pkg/hubble/filters` without linking the server.
//!
//! Semantics (Hubble's): within one `FlowFilter` every field that is set must match
//! (AND), and a repeated field matches when any of its values does (OR). A flow passes a
//! request when it matches any whitelist filter (or the whitelist is empty) and no
//! blacklist filter. An empty `FlowFilter` matches every flow.
//!
//! Each field lives in its own file with a [`FilterBuilder`] that turns the field into a
//! [`FilterFn`] when it is set, validating values up front (bad CIDR, port, selector,
//! glob, regex) with an error that names the field and the value. Adding a field means
//! adding a file and listing its builder in [`default_builders`].

#![warn(missing_docs)]

pub mod field_mask;
pub mod request;

mod cluster_name;
mod deny_kind;
mod dns;
mod drop_reason;
mod drop_reason_desc;
mod encrypted;
mod event_type;
mod experimental;
mod fqdn;
mod glob;
mod http;
mod identity;
mod interface;
mod ip;
mod ip_version;
mod labels;
mod node_name;
mod pod;
mod policy;
mod port;
mod protocol;
mod reply;
mod selector;
mod service;
mod staged_verdict;
mod tcp_flags;
mod trace_id;
mod traffic_direction;
mod uuid;
mod verdict;
mod workload;

#[cfg(test)]
mod testutil;

use observe_proto::flow::{Flow, FlowFilter};

pub use field_mask::{FieldMask, FieldMaskError};
pub use http::path_of;
pub use selector::{Selector, SelectorError};

/// A compiled predicate over flows.
pub type FilterFn = Box<dyn Fn(&Flow) -> bool + Send + Sync>;

/// Compiles the fields it knows of one `FlowFilter` into predicates.
pub trait FilterBuilder: Send + Sync {
    /// One predicate per set field this builder handles; none when they are unset.
    ///
    /// # Errors
    ///
    /// [`FilterError`] when a value is invalid.
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError>;
}

/// Why a filter could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// A value of a field is invalid.
    #[error("invalid {field} filter {value:?}: {reason}")]
    Invalid {
        /// The `FlowFilter` field.
        field: &'static str,
        /// The offending value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The field is valid but this server cannot evaluate it.
    #[error("{field} filters are not supported by this server")]
    Unsupported {
        /// The `FlowFilter` field.
        field: &'static str,
    },
}

impl FilterError {
    pub(crate) fn invalid(
        field: &'static str,
        value: impl Into<String>,
        reason: impl ToString,
    ) -> Self {
        Self::Invalid {
            field,
            value: value.into(),
            reason: reason.to_string(),
        }
    }
}

/// The builders for every field, in Hubble's evaluation order (cheap checks first), then
/// our extensions.
pub fn default_builders() -> Vec<Box<dyn FilterBuilder>> {
    vec![
        Box::new(uuid::UuidFilter),
        Box::new(event_type::EventTypeFilter),
        Box::new(verdict::VerdictFilter),
        Box::new(staged_verdict::StagedVerdictFilter),
        Box::new(drop_reason_desc::DropReasonDescFilter),
        Box::new(reply::ReplyFilter),
        Box::new(encrypted::EncryptedFilter),
        Box::new(identity::IdentityFilter),
        Box::new(protocol::ProtocolFilter),
        Box::new(ip::IpFilter),
        Box::new(pod::PodFilter),
        Box::new(workload::WorkloadFilter),
        Box::new(service::ServiceFilter),
        Box::new(fqdn::FqdnFilter),
        Box::new(dns::DnsQueryFilter),
        Box::new(labels::LabelsFilter),
        Box::new(port::PortFilter),
        Box::new(http::HttpFilter),
        Box::new(tcp_flags::TcpFlagsFilter),
        Box::new(node_name::NodeNameFilter),
        Box::new(cluster_name::ClusterNameFilter),
        Box::new(ip_version::IpVersionFilter),
        Box::new(trace_id::TraceIdFilter),
        Box::new(traffic_direction::TrafficDirectionFilter),
        Box::new(experimental::ExperimentalFilter),
        Box::new(interface::InterfaceFilter),
        Box::new(drop_reason::DropReasonFilter),
        Box::new(deny_kind::DenyKindFilter),
        Box::new(policy::PolicyFilter),
    ]
}

/// A whitelist and a blacklist, compiled.
pub struct Compiled {
    whitelist: Vec<FilterFn>,
    blacklist: Vec<FilterFn>,
}

impl Compiled {
    /// Whether `flow` passes: some whitelist filter matches (or there is none) and no
    /// blacklist filter does.
    pub fn matches(&self, flow: &Flow) -> bool {
        let allowed = self.whitelist.is_empty() || self.whitelist.iter().any(|f| f(flow));
        allowed && !self.blacklist.iter().any(|f| f(flow))
    }

    /// Whether every flow passes (no filters at all).
    pub fn is_empty(&self) -> bool {
        self.whitelist.is_empty() && self.blacklist.is_empty()
    }
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("whitelist", &self.whitelist.len())
            .field("blacklist", &self.blacklist.len())
            .finish()
    }
}

/// Compiles a request's whitelist and blacklist with the [`default_builders`].
///
/// # Errors
///
/// The first invalid value, naming its field.
pub fn build(whitelist: &[FlowFilter], blacklist: &[FlowFilter]) -> Result<Compiled, FilterError> {
    build_with(&default_builders(), whitelist, blacklist)
}

/// Compiles with a custom list of builders (plugins add theirs to the defaults).
///
/// # Errors
///
/// The first invalid value, naming its field.
pub fn build_with(
    builders: &[Box<dyn FilterBuilder>],
    whitelist: &[FlowFilter],
    blacklist: &[FlowFilter],
) -> Result<Compiled, FilterError> {
    Ok(Compiled {
        whitelist: build_list(builders, whitelist)?,
        blacklist: build_list(builders, blacklist)?,
    })
}

/// One closure per `FlowFilter`: the AND of its fields.
fn build_list(
    builders: &[Box<dyn FilterBuilder>],
    filters: &[FlowFilter],
) -> Result<Vec<FilterFn>, FilterError> {
    filters
        .iter()
        .map(|filter| {
            let mut parts = Vec::new();
            for builder in builders {
                parts.extend(builder.build(filter)?);
            }
            Ok(all_of(parts))
        })
        .collect()
}

fn all_of(parts: Vec<FilterFn>) -> FilterFn {
    Box::new(move |flow| parts.iter().all(|f| f(flow)))
}

/// The values of an enum field (`repeated SomeEnum`, as `i32`s) as a predicate input.
pub(crate) fn contains_i32(values: &[i32], value: i32) -> bool {
    values.contains(&value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use observe_proto::flow::Verdict;
    use testutil::*;

    fn verdicts(v: &[Verdict]) -> FlowFilter {
        FlowFilter {
            verdict: v.iter().map(|&v| v as i32).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn empty_lists_pass_everything() {
        let compiled = build(&[], &[]).unwrap();
        assert!(compiled.is_empty());
        assert!(compiled.matches(&Flow::default()));
        let empty_filter = build(&[FlowFilter::default()], &[]).unwrap();
        assert!(empty_filter.matches(&dropped()));
    }

    #[test]
    fn whitelist_filters_are_ored() {
        let compiled = build(
            &[
                verdicts(&[Verdict::Dropped]),
                verdicts(&[Verdict::Forwarded]),
            ],
            &[],
        )
        .unwrap();
        assert!(compiled.matches(&dropped()));
        assert!(compiled.matches(&forwarded()));
        assert!(!compiled.matches(&Flow::default()));
    }

    #[test]
    fn fields_within_a_filter_are_anded() {
        let both = FlowFilter {
            verdict: vec![Verdict::Dropped as i32],
            source_ip: vec!["10.0.0.1".into()],
            ..Default::default()
        };
        let compiled = build(&[both], &[]).unwrap();
        assert!(compiled.matches(&with_ips(dropped(), "10.0.0.1", "10.0.0.2")));
        assert!(!compiled.matches(&with_ips(dropped(), "10.0.0.9", "10.0.0.2")));
        assert!(!compiled.matches(&with_ips(forwarded(), "10.0.0.1", "10.0.0.2")));
    }

    #[test]
    fn blacklist_wins_over_whitelist() {
        let compiled = build(
            &[verdicts(&[Verdict::Dropped])],
            &[verdicts(&[Verdict::Dropped])],
        )
        .unwrap();
        assert!(!compiled.matches(&dropped()));
        let only_black = build(&[], &[verdicts(&[Verdict::Dropped])]).unwrap();
        assert!(only_black.matches(&forwarded()));
        assert!(!only_black.matches(&dropped()));
    }

    #[test]
    fn any_invalid_value_fails_the_whole_request() {
        let bad = FlowFilter {
            source_ip: vec!["10.0.0.300".into()],
            ..Default::default()
        };
        let err = build(&[], &[bad]).unwrap_err();
        assert!(err.to_string().contains("source_ip"), "{err}");
        assert!(err.to_string().contains("10.0.0.300"), "{err}");
    }
}
