//! `interface`: the observing interface by index and/or name (an unset index or name
//! matches any).

use observe_proto::flow::{Flow, FlowFilter};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the `interface` filter.
pub struct InterfaceFilter;

impl FilterBuilder for InterfaceFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.interface.is_empty() {
            return Ok(vec![]);
        }
        let wanted = filter.interface.clone();
        Ok(vec![Box::new(move |flow: &Flow| {
            let Some(iface) = flow.interface.as_ref() else {
                return false;
            };
            wanted.iter().any(|w| {
                (w.index == 0 || w.index == iface.index)
                    && (w.name.is_empty() || w.name == iface.name)
            })
        })])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{Flow, FlowFilter, NetworkInterface};

    fn iface(index: u32, name: &str) -> NetworkInterface {
        NetworkInterface {
            index,
            name: name.into(),
        }
    }

    #[test]
    fn index_and_name_each_optional() {
        let flow = Flow {
            interface: Some(iface(14, "lxc1")),
            ..forwarded()
        };
        let by = |w: NetworkInterface| FlowFilter {
            interface: vec![w],
            ..Default::default()
        };
        check(
            by(iface(0, "lxc1")),
            &[("name", flow.clone(), true), ("none", forwarded(), false)],
        );
        check(by(iface(14, "")), &[("index", flow.clone(), true)]);
        check(by(iface(14, "eth0")), &[("both must match", flow, false)]);
    }
}
