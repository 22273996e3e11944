//! What enrichment found out about one datapath event, asked once when the event arrives:
//! the endpoints and identity labels of both sides, the interface name, the rules behind
//! the cookie (or the policies selecting a default-denied endpoint), the DNS names of
//! the addresses, and what staged policies would decide.
//!
//! The answers are kept with the event in the flow ring ([`super::StoredFlow`]) and the
//! flow is built from them when it is read, so a flow shows the state of the moment it was
//! seen, whatever changed since. Most answers are shared with the getters' state (`Arc`s),
//! so a stored event costs little more than the event itself.

use std::net::IpAddr;

use observe_proto::flow::{DropReason, TrafficDirection, Verdict};
use probe_common::event::FlowEvent;
use std::sync::Arc;

use super::endpoints::{self, Side};
use super::names::{self, NameAnswers};
use super::policy::{self, PolicyAnswers};
use super::staged;
use crate::getters::{Getters, LinkGetter, StagedAnswer};

/// The getters' answers about one event.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Lookups {
    pub(super) sides: [Side; 2],
    pub(super) link: Option<Arc<str>>,
    pub(super) policy: PolicyAnswers,
    pub(super) names: Option<Box<NameAnswers>>,
    /// What the staged policies decide, for a policy verdict while some are staged.
    pub(super) staged: Option<Box<StagedAnswer>>,
}

/// What decoding an event needs from its header before asking the getters.
pub(super) struct Header {
    pub addrs: Option<(IpAddr, IpAddr)>,
    pub verdict: Verdict,
    pub reason: DropReason,
    pub direction: TrafficDirection,
}

impl Lookups {
    /// Asks `getters` everything decoding `ev` (with `header`) needs, and nothing else.
    pub(super) fn look_up(ev: &FlowEvent, header: &Header, getters: &Getters) -> Self {
        let sides = endpoints::look_up_sides(ev, header.addrs, &super::endpoint_sources(getters));
        let policy = policy::look_up_policy(
            ev,
            header.verdict,
            header.reason,
            header.direction,
            getters.policies.as_ref(),
        );
        let egress_default_deny =
            policy.is_default_deny() && header.direction == TrafficDirection::Egress;
        let names = names::look_up_names(
            u32::from(ev.endpoint_id),
            header.addrs,
            egress_default_deny,
            getters.fqdn.as_ref(),
        );
        Self {
            sides,
            link: link_name(ev, getters.links.as_ref()),
            policy,
            names,
            staged: staged::look_up_staged(ev, getters.staged.as_ref()),
        }
    }

    /// Namespaces of the two sides, where known.
    pub(crate) fn namespaces(&self) -> impl Iterator<Item = &str> {
        self.sides.iter().filter_map(Side::namespace)
    }
}

/// The name of the interface the hook runs on, if it has one.
fn link_name(ev: &FlowEvent, links: &dyn LinkGetter) -> Option<Arc<str>> {
    (ev.ifindex != 0)
        .then(|| links.link_name(ev.ifindex))
        .flatten()
}
