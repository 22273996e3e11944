//! DNS names on L3/L4 flows, from what the DNS proxy learned: `destination_names` and
//! `source_names` (Hubble's fields) for addresses a name currently answers for, and, for a
//! default-deny drop of what an endpoint sends to an address it once learned (or another
//! endpoint did), the address's `fqdn_history` in the attribution: expired at T, evicted,
//! or never resolved by this endpoint. Hubble explains none of these drops.

use std::net::IpAddr;

use observe_proto::flow::{Flow, FqdnHistory, PolicyVerdictKind, TrafficDirection};

use crate::getters::FqdnGetter;

/// What the FQDN getter said about one event's addresses; `None` from
/// [`look_up_names`] when it knew nothing, which is the common case.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct NameAnswers {
    source: Vec<String>,
    destination: Vec<String>,
    history: Option<FqdnHistory>,
}

/// Asks `fqdn` about addresses `addrs` (source, destination) of an event of endpoint
/// `endpoint_id`; `egress_default_deny` says whether it was one (only those get a history).
pub(super) fn look_up_names(
    endpoint_id: u32,
    addrs: Option<(IpAddr, IpAddr)>,
    egress_default_deny: bool,
    fqdn: &dyn FqdnGetter,
) -> Option<Box<NameAnswers>> {
    let (source, destination) = addrs?;
    let answers = NameAnswers {
        source: fqdn.names_of(source),
        destination: fqdn.names_of(destination),
        history: egress_default_deny
            .then(|| fqdn.history(endpoint_id, destination))
            .flatten(),
    };
    (answers != NameAnswers::default()).then(|| Box::new(answers))
}

/// Fills the names and, for an egress default deny, the history of `flow`, whose policy
/// fields are decoded, from what [`look_up_names`] found.
pub(super) fn decode_names(flow: &mut Flow, answers: Option<&NameAnswers>) {
    let Some(answers) = answers else {
        return;
    };
    flow.source_names.clone_from(&answers.source);
    flow.destination_names.clone_from(&answers.destination);
    if let Some(attribution) = flow.attribution.as_mut()
        && attribution.kind() == PolicyVerdictKind::DefaultDeny
        && attribution.direction() == TrafficDirection::Egress
    {
        attribution.fqdn_history.clone_from(&answers.history);
    }
}

#[cfg(test)]
mod tests {
    use observe_proto::flow::{Attribution, FqdnGone};

    use super::*;

    struct Learned;

    impl FqdnGetter for Learned {
        fn names_of(&self, ip: IpAddr) -> Vec<String> {
            if ip.to_string() == "203.0.113.10" {
                vec!["api.partner.com.".into()]
            } else {
                Vec::new()
            }
        }
        fn history(&self, endpoint_id: u32, ip: IpAddr) -> Option<FqdnHistory> {
            (endpoint_id == 7 && ip.to_string() == "203.0.113.11").then(|| FqdnHistory {
                name: "short.partner.com.".into(),
                why: FqdnGone::FqdnExpired as i32,
                ..FqdnHistory::default()
            })
        }
    }

    /// Looks up and decodes the names of `flow` as the decoder does.
    fn decode_names(
        endpoint_id: u32,
        addrs: Option<(IpAddr, IpAddr)>,
        flow: &mut Flow,
        fqdn: &dyn FqdnGetter,
    ) {
        let egress_default_deny = flow.attribution.as_ref().is_some_and(|a| {
            a.kind() == PolicyVerdictKind::DefaultDeny && a.direction() == TrafficDirection::Egress
        });
        let answers = look_up_names(endpoint_id, addrs, egress_default_deny, fqdn);
        super::decode_names(flow, answers.as_deref());
    }

    fn addrs(src: &str, dst: &str) -> Option<(IpAddr, IpAddr)> {
        Some((src.parse().unwrap(), dst.parse().unwrap()))
    }

    fn denied(direction: TrafficDirection) -> Flow {
        Flow {
            attribution: Some(Attribution {
                kind: PolicyVerdictKind::DefaultDeny.into(),
                direction: direction.into(),
                ..Attribution::default()
            }),
            ..Flow::default()
        }
    }

    #[test]
    fn flows_to_and_from_learned_addresses_carry_their_names() {
        let mut flow = Flow::default();
        decode_names(7, addrs("10.0.0.1", "203.0.113.10"), &mut flow, &Learned);
        assert_eq!(flow.destination_names, vec!["api.partner.com."]);
        assert!(flow.source_names.is_empty());
        let mut reply = Flow::default();
        decode_names(7, addrs("203.0.113.10", "10.0.0.1"), &mut reply, &Learned);
        assert_eq!(reply.source_names, vec!["api.partner.com."]);
    }

    #[test]
    fn an_egress_default_deny_to_an_expired_address_says_what_happened_to_it() {
        let mut flow = denied(TrafficDirection::Egress);
        decode_names(7, addrs("10.0.0.1", "203.0.113.11"), &mut flow, &Learned);
        let history = flow.attribution.unwrap().fqdn_history.unwrap();
        assert_eq!(history.name, "short.partner.com.");
        assert_eq!(history.why(), FqdnGone::FqdnExpired);
        let mut ingress = denied(TrafficDirection::Ingress);
        decode_names(7, addrs("203.0.113.11", "10.0.0.1"), &mut ingress, &Learned);
        assert_eq!(ingress.attribution.unwrap().fqdn_history, None);
    }
}
