//! Enrichment interfaces the decoder calls to turn numbers (endpoint ids, addresses,
//! identities, rule cookies, interface indexes) into names.
//!
//! Each trait is narrow so the agent can back it with whatever state it owns (the
//! enforcer's registries) and tests with closures. Every getter is optional: the decoder
//! uses the `Noop*` implementations when none is given and still produces a flow. The
//! `Fake*` doubles are for tests: each method calls its closure and panics when the test
//! did not expect the call.
//!
//! State that changes while flows are decoded (the agent's snapshot) comes through a
//! [`GetterSource`]: the decoder loads one set of [`Getters`] per flow, so every name in
//! a flow comes from the same version of that state.

use std::net::IpAddr;
use std::sync::Arc;

use observe_proto::flow::TrafficDirection;

/// What the decoder needs to know about an endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointInfo {
    /// Endpoint id (the datapath's `endpoint_id`).
    pub id: u32,
    /// Security identity.
    pub identity: u32,
    /// Namespace of the pod.
    pub namespace: String,
    /// Pod name.
    pub pod_name: String,
    /// Labels as `source:key=value` (e.g. `k8s:app=web`).
    pub labels: Vec<String>,
    /// Node the endpoint runs on.
    pub node_name: String,
}

/// Endpoints by id (the side of a flow whose hook saw the packet) and by address (the peer).
pub trait EndpointGetter: Send + Sync {
    /// The endpoint with datapath id `id`.
    fn endpoint_by_id(&self, id: u32) -> Option<Arc<EndpointInfo>>;
    /// The endpoint owning address `ip`, local or on another node.
    fn endpoint_by_ip(&self, ip: IpAddr) -> Option<Arc<EndpointInfo>>;
}

/// Labels of security identities.
pub trait IdentityGetter: Send + Sync {
    /// The labels (`source:key=value`) of `identity`. Reserved identities need not be
    /// known: the decoder labels them `reserved:<name>` by itself.
    fn identity_labels(&self, identity: u32) -> Option<Arc<[String]>>;
}

/// A policy object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyInfo {
    /// Kubernetes kind: `CiliumNetworkPolicy`, `CiliumClusterwideNetworkPolicy`,
    /// `NetworkPolicy`, or `Derived` for rules the engine adds itself.
    pub kind: String,
    /// Namespace; empty for cluster-wide policies.
    pub namespace: String,
    /// Object name.
    pub name: String,
    /// Policy revision the rule belongs to (0 when unknown).
    pub revision: u64,
}

/// One rule of a policy: the object and the rule's path in it (`spec.ingress[0]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleInfo {
    /// The policy object.
    pub policy: PolicyInfo,
    /// Path of the rule inside the object.
    pub path: String,
}

/// Policy names for verdicts.
pub trait PolicyGetter: Send + Sync {
    /// The rules behind the rule cookie a datapath event carries (empty when unknown).
    /// Shared: flows in the ring keep what they were told, without a copy each.
    fn rules_by_cookie(&self, cookie: u32) -> Arc<[RuleInfo]>;
    /// The policies selecting endpoint `endpoint_id` in `direction`: the ones whose
    /// rules decide what it may receive (ingress) or send (egress).
    fn selecting_policies(&self, endpoint_id: u32, direction: TrafficDirection) -> Vec<PolicyInfo>;
    /// Audit mode: the policies selecting the endpoint in `direction` counting those in
    /// audit mode (what an audited default deny is attributed to); empty when none of
    /// them is in audit mode.
    fn auditing_policies(&self, endpoint_id: u32, direction: TrafficDirection) -> Vec<PolicyInfo>;
}

/// A new connection, as a staged policy set is asked about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StagedQuery {
    /// The local endpoint whose policy decided (the event's `endpoint_id`).
    pub endpoint_id: u32,
    /// The direction of that policy.
    pub direction: TrafficDirection,
    /// The peer's security identity.
    pub peer_identity: u32,
    /// IP protocol number.
    pub protocol: u8,
    /// Destination port, or ICMP type.
    pub port: u16,
}

/// What a staged policy set decides for a [`StagedQuery`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedAnswer {
    /// Forwarded, dropped, redirected (an L7 rule would apply) or audit.
    pub verdict: observe_proto::flow::Verdict,
    /// 133 or 181 for a drop or an audit, else 0.
    pub drop_reason: u8,
    /// Allowed, explicit deny or default deny.
    pub kind: observe_proto::flow::PolicyVerdictKind,
    /// The staged rules that decided (none for a default deny).
    pub rules: Vec<RuleInfo>,
    /// For a default deny: the staged policies selecting the endpoint.
    pub selecting: Vec<PolicyInfo>,
}

/// Staged policies (`observe policy stage`): what they would decide for new connections.
pub trait StagedGetter: Send + Sync {
    /// The staged set's decision, or `None` when nothing is staged or the endpoint is not
    /// local.
    fn staged(&self, query: &StagedQuery) -> Option<StagedAnswer>;
}

/// A [`StagedGetter`] with nothing staged.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopStagedGetter;

impl StagedGetter for NoopStagedGetter {
    fn staged(&self, _: &StagedQuery) -> Option<StagedAnswer> {
        None
    }
}

/// Interface names.
pub trait LinkGetter: Send + Sync {
    /// The name of the interface with index `ifindex` (shared, as cookies' rules are).
    fn link_name(&self, ifindex: u32) -> Option<Arc<str>>;
}

/// What the DNS proxy learned: the names an address answers for, and what became of an
/// address an endpoint once learned (for drops to it).
pub trait FqdnGetter: Send + Sync {
    /// The names `ip` currently answers for (a flow's `destination_names`).
    fn names_of(&self, ip: IpAddr) -> Vec<String>;
    /// Why endpoint `endpoint_id` may no longer reach `ip` by name, if it (or another
    /// endpoint) once learned it.
    fn history(&self, endpoint_id: u32, ip: IpAddr) -> Option<observe_proto::flow::FqdnHistory>;
}

/// The getters one flow is enriched from.
#[derive(Clone)]
pub struct Getters {
    /// Endpoints by id and by address.
    pub endpoints: Arc<dyn EndpointGetter>,
    /// Identity labels.
    pub identities: Arc<dyn IdentityGetter>,
    /// Policy names.
    pub policies: Arc<dyn PolicyGetter>,
    /// Interface names.
    pub links: Arc<dyn LinkGetter>,
    /// Learned DNS names.
    pub fqdn: Arc<dyn FqdnGetter>,
    /// Staged policies.
    pub staged: Arc<dyn StagedGetter>,
}

impl Default for Getters {
    /// Getters that know nothing.
    fn default() -> Self {
        Self {
            endpoints: Arc::new(NoopEndpointGetter),
            identities: Arc::new(NoopIdentityGetter),
            policies: Arc::new(NoopPolicyGetter),
            links: Arc::new(NoopLinkGetter),
            fqdn: Arc::new(NoopFqdnGetter),
            staged: Arc::new(NoopStagedGetter),
        }
    }
}

impl std::fmt::Debug for Getters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Getters").finish_non_exhaustive()
    }
}

/// Hands the decoder its [`Getters`], once per flow: the getters of one load answer from
/// one version of the state behind them, however often it is replaced meanwhile.
pub trait GetterSource: Send + Sync {
    /// The getters for the next flow.
    fn load(&self) -> Getters;
}

/// An [`EndpointGetter`] that knows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopEndpointGetter;

impl EndpointGetter for NoopEndpointGetter {
    fn endpoint_by_id(&self, _: u32) -> Option<Arc<EndpointInfo>> {
        None
    }
    fn endpoint_by_ip(&self, _: IpAddr) -> Option<Arc<EndpointInfo>> {
        None
    }
}

/// An [`IdentityGetter`] that knows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopIdentityGetter;

impl IdentityGetter for NoopIdentityGetter {
    fn identity_labels(&self, _: u32) -> Option<Arc<[String]>> {
        None
    }
}

/// A [`PolicyGetter`] that knows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopPolicyGetter;

impl PolicyGetter for NoopPolicyGetter {
    fn rules_by_cookie(&self, _: u32) -> Arc<[RuleInfo]> {
        Arc::from([])
    }
    fn selecting_policies(&self, _: u32, _: TrafficDirection) -> Vec<PolicyInfo> {
        Vec::new()
    }
    fn auditing_policies(&self, _: u32, _: TrafficDirection) -> Vec<PolicyInfo> {
        Vec::new()
    }
}

/// A [`LinkGetter`] that knows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopLinkGetter;

impl LinkGetter for NoopLinkGetter {
    fn link_name(&self, _: u32) -> Option<Arc<str>> {
        None
    }
}

/// A [`FqdnGetter`] that knows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopFqdnGetter;

impl FqdnGetter for NoopFqdnGetter {
    fn names_of(&self, _: IpAddr) -> Vec<String> {
        Vec::new()
    }
    fn history(&self, _: u32, _: IpAddr) -> Option<observe_proto::flow::FqdnHistory> {
        None
    }
}

type Closure<A, R> = Box<dyn Fn(A) -> R + Send + Sync>;

/// Test double for [`EndpointGetter`]; panics on calls whose closure is not set.
#[derive(Default)]
pub struct FakeEndpointGetter {
    /// Answers [`EndpointGetter::endpoint_by_id`].
    pub on_endpoint_by_id: Option<Closure<u32, Option<Arc<EndpointInfo>>>>,
    /// Answers [`EndpointGetter::endpoint_by_ip`].
    pub on_endpoint_by_ip: Option<Closure<IpAddr, Option<Arc<EndpointInfo>>>>,
}

impl EndpointGetter for FakeEndpointGetter {
    fn endpoint_by_id(&self, id: u32) -> Option<Arc<EndpointInfo>> {
        let f = self.on_endpoint_by_id.as_ref();
        f.expect("FakeEndpointGetter: on_endpoint_by_id not set")(id)
    }
    fn endpoint_by_ip(&self, ip: IpAddr) -> Option<Arc<EndpointInfo>> {
        let f = self.on_endpoint_by_ip.as_ref();
        f.expect("FakeEndpointGetter: on_endpoint_by_ip not set")(ip)
    }
}

/// Test double for [`IdentityGetter`]; panics on calls whose closure is not set.
#[derive(Default)]
pub struct FakeIdentityGetter {
    /// Answers [`IdentityGetter::identity_labels`].
    pub on_identity_labels: Option<Closure<u32, Option<Arc<[String]>>>>,
}

impl IdentityGetter for FakeIdentityGetter {
    fn identity_labels(&self, identity: u32) -> Option<Arc<[String]>> {
        let f = self.on_identity_labels.as_ref();
        f.expect("FakeIdentityGetter: on_identity_labels not set")(identity)
    }
}

/// Test double for [`PolicyGetter`]; panics on calls whose closure is not set.
#[derive(Default)]
pub struct FakePolicyGetter {
    /// Answers [`PolicyGetter::rules_by_cookie`].
    pub on_rules_by_cookie: Option<Closure<u32, Vec<RuleInfo>>>,
    /// Answers [`PolicyGetter::selecting_policies`].
    pub on_selecting_policies: Option<Closure<(u32, TrafficDirection), Vec<PolicyInfo>>>,
    /// Answers [`PolicyGetter::auditing_policies`].
    pub on_auditing_policies: Option<Closure<(u32, TrafficDirection), Vec<PolicyInfo>>>,
}

impl PolicyGetter for FakePolicyGetter {
    fn rules_by_cookie(&self, cookie: u32) -> Arc<[RuleInfo]> {
        let f = self.on_rules_by_cookie.as_ref();
        f.expect("FakePolicyGetter: on_rules_by_cookie not set")(cookie).into()
    }
    fn selecting_policies(&self, endpoint_id: u32, direction: TrafficDirection) -> Vec<PolicyInfo> {
        let f = self.on_selecting_policies.as_ref();
        f.expect("FakePolicyGetter: on_selecting_policies not set")((endpoint_id, direction))
    }
    fn auditing_policies(&self, endpoint_id: u32, direction: TrafficDirection) -> Vec<PolicyInfo> {
        let f = self.on_auditing_policies.as_ref();
        f.expect("FakePolicyGetter: on_auditing_policies not set")((endpoint_id, direction))
    }
}

/// Test double for [`LinkGetter`]; panics on calls whose closure is not set.
#[derive(Default)]
pub struct FakeLinkGetter {
    /// Answers [`LinkGetter::link_name`].
    pub on_link_name: Option<Closure<u32, Option<String>>>,
}

impl LinkGetter for FakeLinkGetter {
    fn link_name(&self, ifindex: u32) -> Option<Arc<str>> {
        let f = self.on_link_name.as_ref();
        f.expect("FakeLinkGetter: on_link_name not set")(ifindex).map(Arc::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "on_endpoint_by_ip not set")]
    fn fakes_fail_loudly_on_unexpected_calls() {
        let fake = FakeEndpointGetter {
            on_endpoint_by_id: Some(Box::new(|_| None)),
            ..Default::default()
        };
        assert!(fake.endpoint_by_id(1).is_none());
        fake.endpoint_by_ip(IpAddr::from([10, 0, 0, 1]));
    }
}
