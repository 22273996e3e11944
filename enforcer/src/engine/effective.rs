//! The effective policy: a policy as the engine computes with it, where that differs
//! from the policy as applied. Two things make it differ: audit mode asked for by the
//! policy's namespace ([`super::audit_mode`]), and `toServices` peers resolved into
//! generated sections ([`super::to_services`]).
//!
//! Policies are kept as applied; the effective version is kept once per policy that
//! needs one, so every rule handle shares it. Whatever changes an effective version
//! (a namespace's mode, a Service) hands the policy to the rule index again, which
//! recomputes the endpoints it selects.

use std::sync::Arc;

use super::Engine;
use super::to_services;
use crate::policy::model::Policy;

impl Engine {
    /// `policy` as the engine computes with it.
    pub(super) fn effective(&self, policy: &Arc<Policy>) -> Arc<Policy> {
        self.effective
            .get(&policy.origin)
            .cloned()
            .unwrap_or_else(|| policy.clone())
    }

    /// Records the effective version of `policy` (as applied) under its namespace's
    /// current mode and the current Services, and returns it.
    pub(super) fn refresh_effective(&mut self, policy: &Arc<Policy>) -> Arc<Policy> {
        let origin = policy.origin.clone();
        let audited = !policy.audit && self.namespace_audits(&origin.namespace);
        let resolved =
            to_services::has_services(policy).then(|| to_services::resolve(policy, &self.services));
        if !audited && resolved.is_none() {
            self.effective.remove(&origin);
            return policy.clone();
        }
        let mut effective = resolved.unwrap_or_else(|| (**policy).clone());
        effective.audit |= audited;
        let effective = Arc::new(effective);
        self.effective.insert(origin, effective.clone());
        effective
    }
}
