//! `encrypted`: whether the packet was encrypted (WireGuard/IPsec).

use observe_proto::flow::{Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the `encrypted` filter.
pub struct EncryptedFilter;

impl FilterBuilder for EncryptedFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.encrypted.is_empty() {
            return Ok(vec![]);
        }
        let wanted = filter.encrypted.clone();
        Ok(vec![Box::new(move |flow: &Flow| {
            let encrypted = flow.ip.as_ref().is_some_and(|ip| ip.encrypted);
            wanted.contains(&encrypted)
        })])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::FlowFilter;

    #[test]
    fn matches_the_encryption_flag() {
        let mut encrypted = with_ips(forwarded(), "10.0.0.1", "10.0.0.2");
        encrypted.ip.as_mut().unwrap().encrypted = true;
        let filter = FlowFilter {
            encrypted: vec![false],
            ..Default::default()
        };
        check(
            filter,
            &[
                ("plain", with_ips(forwarded(), "10.0.0.1", "10.0.0.2"), true),
                ("no ip counts as unencrypted", forwarded(), true),
                ("encrypted", encrypted, false),
            ],
        );
    }
}
