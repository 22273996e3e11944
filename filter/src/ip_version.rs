//! `ip_version`: IPv4, IPv6, or IP_NOT_USED for flows without an IP layer.

use observe_proto::flow::{Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn, contains_i32};

/// Builds the `ip_version` filter.
pub struct IpVersionFilter;

impl FilterBuilder for IpVersionFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.ip_version.is_empty() {
            return Ok(vec![]);
        }
        let versions = filter.ip_version.clone();
        Ok(vec![Box::new(move |flow: &Flow| {
            // A flow without IP layer has version 0, IP_NOT_USED.
            let version = flow.ip.as_ref().map_or(0, |ip| ip.ip_version);
            contains_i32(&versions, version)
        })])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{FlowFilter, IpVersion};

    #[test]
    fn matches_listed_versions() {
        let filter = FlowFilter {
            ip_version: vec![IpVersion::IPv6 as i32, IpVersion::IpNotUsed as i32],
            ..Default::default()
        };
        check(
            filter,
            &[
                ("v6", with_ips(forwarded(), "fd00::1", "fd00::2"), true),
                ("no ip", forwarded(), true),
                ("v4", with_ips(forwarded(), "10.0.0.1", "10.0.0.2"), false),
            ],
        );
    }
}
