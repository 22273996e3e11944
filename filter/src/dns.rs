//! `dns_query`: regular expressions over the query name of DNS records (L7 flows).

use observe_proto::flow::{Flow, FlowFilter, layer7};
use regex_lite::Regex;

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the `dns_query` filter.
pub struct DnsQueryFilter;

impl FilterBuilder for DnsQueryFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.dns_query.is_empty() {
            return Ok(vec![]);
        }
        let patterns = compile_all("dns_query", &filter.dns_query)?;
        Ok(vec![Box::new(move |flow: &Flow| {
            let Some(layer7::Record::Dns(dns)) = flow.l7.as_ref().and_then(|l| l.record.as_ref())
            else {
                return false;
            };
            patterns.iter().any(|p| p.is_match(&dns.query))
        })])
    }
}

/// Compiles regular expressions, naming `field` in errors.
pub(crate) fn compile_all(
    field: &'static str,
    values: &[String],
) -> Result<Vec<Regex>, FilterError> {
    values
        .iter()
        .map(|v| Regex::new(v).map_err(|e| FilterError::invalid(field, v, e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{Dns, Flow, FlowFilter, Layer7, layer7};

    #[test]
    fn matches_query_names_of_dns_records() {
        let dns = Flow {
            l7: Some(Layer7 {
                record: Some(layer7::Record::Dns(Dns {
                    query: "kubernetes.default.svc.cluster.local.".into(),
                    ..Default::default()
                })),
                ..Default::default()
            }),
            ..forwarded()
        };
        let filter = FlowFilter {
            dns_query: vec!["kube.*local".into()],
            ..Default::default()
        };
        check(
            filter,
            &[("dns", dns, true), ("l3/l4 flow", forwarded(), false)],
        );
        let err = build_err(FlowFilter {
            dns_query: vec!["(unclosed".into()],
            ..Default::default()
        });
        assert!(
            err.to_string()
                .starts_with("invalid dns_query filter \"(unclosed\""),
            "{err}"
        );
    }
}
