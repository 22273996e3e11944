//! Namespaces seen in flows, for `GetNamespaces`; a namespace is forgotten after it has
//! not been seen for an hour (as Hubble does), so deleted namespaces drop out.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a namespace stays listed without flows.
pub const NAMESPACE_TTL: Duration = Duration::from_secs(3600);

/// The namespaces of recent flows.
#[derive(Debug, Default)]
pub struct Namespaces {
    seen: Mutex<HashMap<String, Instant>>,
}

impl Namespaces {
    /// Notes `names` (the namespaces of a flow's two sides) as seen at `now`.
    pub fn observe<'a>(&self, names: impl IntoIterator<Item = &'a str>, now: Instant) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        for name in names.into_iter().filter(|n| !n.is_empty()) {
            match seen.get_mut(name) {
                Some(last) => *last = now,
                None => {
                    seen.insert(name.to_string(), now);
                }
            }
        }
    }

    /// Namespaces seen within the TTL before `now`, sorted; older ones are forgotten.
    pub fn list(&self, now: Instant) -> Vec<String> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.retain(|_, last| now.saturating_duration_since(*last) < NAMESPACE_TTL);
        let mut names: Vec<String> = seen.keys().cloned().collect();
        names.sort();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_both_sides_and_expires_old_ones() {
        let ns = Namespaces::default();
        let t0 = Instant::now();
        ns.observe(["default", ""], t0);
        ns.observe(["prod", "kube-system"], t0 + Duration::from_secs(1800));
        assert_eq!(
            ns.list(t0 + Duration::from_secs(1800)),
            ["default", "kube-system", "prod"]
        );
        assert_eq!(
            ns.list(t0 + NAMESPACE_TTL + Duration::from_secs(1)),
            ["kube-system", "prod"]
        );
    }
}
