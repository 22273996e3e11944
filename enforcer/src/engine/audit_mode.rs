//! Audit mode by namespace: a Namespace annotated `observe.io/mode: audit` puts every
//! namespaced policy (CNP, KNP) in it in audit mode, as if each carried the annotation.
//!
//! Policies are kept as applied; the rules the engine computes from are those of the
//! *effective* policy ([`super::effective`]: in audit mode when the policy or its
//! namespace asks for it). When a namespace's mode changes, each of its policies is
//! handed to the rule index again in its new mode, which recomputes the endpoints it
//! selects.

use std::sync::Arc;

use super::Engine;
use super::apply::Work;
use crate::policy::model::Policy;

impl Engine {
    /// Whether namespace `name` puts its policies in audit mode.
    pub(super) fn namespace_audits(&self, name: &str) -> bool {
        !name.is_empty() && self.namespaces.get(name).is_some_and(|n| n.audit)
    }

    /// After namespace `name` changed: those of its policies whose effective mode changed
    /// with it, handed to the rule index again.
    pub(super) fn namespace_mode_changed(&mut self, name: &str, work: &mut Work) {
        let policies: Vec<Arc<Policy>> = self
            .policies
            .values()
            .filter(|p| p.origin.namespace == name)
            .cloned()
            .collect();
        let audits = self.namespace_audits(name);
        for p in policies {
            if self.effective(&p).audit == (audits || p.audit) {
                continue;
            }
            let old = self.effective(&p);
            let new = self.refresh_effective(&p);
            self.policy_changed(&p.origin, Some(&old), Some(&new), work);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::cluster::PodKey;
    use crate::engine::{Engine, EngineConfig, ObjectKey};
    use crate::manifest::{self, Object};

    fn objects(yaml: &str) -> Vec<Object> {
        let parsed = manifest::parse_str("test.yaml", yaml).unwrap_or_else(|e| panic!("{e}"));
        parsed.into_objects()
    }

    fn namespace(mode: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: shop, annotations: {{observe.io/mode: {mode}}}}}\n"
        )
    }

    const POD_AND_POLICY: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\nstatus: {podIP: 10.0.0.1}\n---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: web-in, namespace: shop}\nspec:\n  endpointSelector: {matchLabels: {app: web}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: api}}]\n";

    /// (ingress enforced, ingress audited) of shop/web.
    fn modes(engine: &Engine) -> (bool, bool) {
        let ep = engine.endpoint(&PodKey::new("shop", "web")).expect("web");
        (
            ep.policy.ingress.enforced,
            ep.policy.ingress.audit.is_some(),
        )
    }

    #[test]
    fn an_annotated_namespace_audits_its_policies_until_the_annotation_goes() {
        let mut engine = Engine::new(EngineConfig::default());
        engine.apply(objects(&namespace("audit"))).unwrap();
        engine.apply(objects(POD_AND_POLICY)).unwrap();
        assert_eq!(
            modes(&engine),
            (false, true),
            "applied into an audited namespace"
        );
        engine.apply(objects(&namespace("enforce"))).unwrap();
        assert_eq!(
            modes(&engine),
            (true, false),
            "the namespace enforces again"
        );
        engine.apply(objects(&namespace("audit"))).unwrap();
        assert_eq!(modes(&engine), (false, true));
        engine.delete(&[ObjectKey::Namespace("shop".into())]);
        assert_eq!(
            modes(&engine),
            (true, false),
            "the namespace object is gone"
        );
        // The policy itself is kept as applied.
        assert!(engine.policies().all(|p| !p.audit));
    }
}
