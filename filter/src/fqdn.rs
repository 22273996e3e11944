//! `source_fqdn` / `destination_fqdn`: DNS name patterns (`*.cilium.io`) matched against
//! the names known for each side's address.

use observe_proto::flow::{Flow, FlowFilter};

use super::glob::Glob;
use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the FQDN filters.
pub struct FqdnFilter;

impl FilterBuilder for FqdnFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        let mut out = Vec::new();
        if !filter.source_fqdn.is_empty() {
            let globs = parse("source_fqdn", &filter.source_fqdn)?;
            out.push(by_names(globs, |f| &f.source_names));
        }
        if !filter.destination_fqdn.is_empty() {
            let globs = parse("destination_fqdn", &filter.destination_fqdn)?;
            out.push(by_names(globs, |f| &f.destination_names));
        }
        Ok(out)
    }
}

fn parse(field: &'static str, values: &[String]) -> Result<Vec<Glob>, FilterError> {
    values
        .iter()
        .map(|v| Glob::parse(v).map_err(|reason| FilterError::invalid(field, v, reason)))
        .collect()
}

fn by_names(globs: Vec<Glob>, names: fn(&Flow) -> &Vec<String>) -> FilterFn {
    Box::new(move |flow| {
        names(flow)
            .iter()
            .any(|n| globs.iter().any(|g| g.matches(n)))
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{Flow, FlowFilter};

    #[test]
    fn matches_any_known_name() {
        let flow = Flow {
            destination_names: vec!["api.example.com".into(), "docs.cilium.io".into()],
            ..forwarded()
        };
        let filter = FlowFilter {
            destination_fqdn: vec!["*.cilium.io".into()],
            ..Default::default()
        };
        check(
            filter,
            &[
                ("wildcard", flow.clone(), true),
                ("no names", forwarded(), false),
            ],
        );
        let source = FlowFilter {
            source_fqdn: vec!["docs.cilium.io".into()],
            ..Default::default()
        };
        check(source, &[("names are on the destination", flow, false)]);
        assert!(
            build_err(FlowFilter {
                source_fqdn: vec!["bad name".into()],
                ..Default::default()
            })
            .to_string()
            .contains("source_fqdn")
        );
    }
}
