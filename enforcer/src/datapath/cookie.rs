//! Rule cookies: the `u32` a policy-map entry carries so that events can name the rules
//! that allowed or denied a flow. A [`CookieTable`] interns each distinct [`RuleSet`] once
//! and resolves cookies back to rules for the observer.
//!
//! Cookie 0 means "no rule" (default deny, unenforced direction). Cookies are never reused
//! once released: conntrack entries and events in flight may still carry an old cookie, and
//! a reused value would attribute them to unrelated rules. A restarted agent starts counting
//! above the largest cookie in the pinned policy map for the same reason
//! ([`CookieTable::starting_after`]).

use std::collections::{BTreeSet, HashMap};

use crate::mapstate::RuleSet;

/// Interned rule sets, by cookie and by content.
#[derive(Debug, Default)]
pub struct CookieTable {
    by_rules: HashMap<RuleSet, u32>,
    by_cookie: HashMap<u32, RuleSet>,
    last: u32,
}

impl CookieTable {
    /// An empty table whose first cookie is 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty table whose cookies are all above `last` (the largest cookie already in
    /// use in the datapath).
    pub fn starting_after(last: u32) -> Self {
        Self {
            last,
            ..Self::default()
        }
    }

    /// The cookie of `rules`, allocating one if the set is new. An empty set is cookie 0.
    ///
    /// Cookies are 32-bit and never reused; should they ever run out, the last one is
    /// shared by every new set (attribution degrades, enforcement does not).
    pub fn intern(&mut self, rules: &RuleSet) -> u32 {
        if rules.is_empty() {
            return 0;
        }
        if let Some(&cookie) = self.by_rules.get(rules) {
            return cookie;
        }
        self.last = self.last.saturating_add(1);
        let cookie = self.last;
        self.by_rules.insert(rules.clone(), cookie);
        self.by_cookie.insert(cookie, rules.clone());
        cookie
    }

    /// The rules of `cookie`, if it is in use.
    pub fn rules(&self, cookie: u32) -> Option<&RuleSet> {
        self.by_cookie.get(&cookie)
    }

    /// Forgets every cookie not in `in_use` (what the datapath's maps hold after an apply).
    /// Returns how many were released.
    pub fn release_unused(&mut self, in_use: &BTreeSet<u32>) -> usize {
        let before = self.by_cookie.len();
        self.by_cookie.retain(|cookie, _| in_use.contains(cookie));
        let by_cookie = &self.by_cookie;
        self.by_rules
            .retain(|_, cookie| by_cookie.contains_key(cookie));
        before - self.by_cookie.len()
    }

    /// The cookies in use and their rules, and the last cookie handed out: what an agent
    /// persists so that after a restart it interns the same sets under the same cookies.
    pub fn export(&self) -> (u32, Vec<(u32, RuleSet)>) {
        let mut entries: Vec<(u32, RuleSet)> = self
            .by_cookie
            .iter()
            .map(|(c, r)| (*c, r.clone()))
            .collect();
        entries.sort_by_key(|(c, _)| *c);
        (self.last, entries)
    }

    /// A table holding exported cookies; new sets get cookies above `last` (and above
    /// every restored cookie).
    pub fn restore(last: u32, entries: impl IntoIterator<Item = (u32, RuleSet)>) -> Self {
        let mut table = Self::starting_after(last);
        for (cookie, rules) in entries {
            if cookie == 0 || rules.is_empty() {
                continue;
            }
            table.last = table.last.max(cookie);
            table.by_rules.insert(rules.clone(), cookie);
            table.by_cookie.insert(cookie, rules);
        }
        table
    }

    /// Number of cookies in use.
    pub fn len(&self) -> usize {
        self.by_cookie.len()
    }

    /// Whether no cookie is in use.
    pub fn is_empty(&self) -> bool {
        self.by_cookie.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    #[test]
    fn exported_tables_restore_the_same_cookies() {
        let mut t = CookieTable::new();
        let (a, b) = (t.intern(&rules(&["a"])), t.intern(&rules(&["b"])));
        let (last, entries) = t.export();
        let mut r = CookieTable::restore(last, entries);
        assert_eq!(r.intern(&rules(&["b"])), b);
        assert_eq!(r.intern(&rules(&["a"])), a);
        assert!(r.intern(&rules(&["c"])) > b);
    }

    use super::*;
    use crate::policy::origin::{PolicyKind, PolicyRef, RuleRef};

    fn rules(names: &[&str]) -> RuleSet {
        names
            .iter()
            .map(|n| RuleRef {
                policy: Arc::new(PolicyRef {
                    kind: PolicyKind::NetworkPolicy,
                    namespace: "ns".into(),
                    name: (*n).into(),
                }),
                path: "spec.ingress[0]".into(),
            })
            .collect::<Vec<_>>()
            .into()
    }

    #[test]
    fn equal_sets_share_a_cookie_and_resolve_back() {
        let mut t = CookieTable::new();
        let a = t.intern(&rules(&["a"]));
        let b = t.intern(&rules(&["a", "b"]));
        assert_eq!((a, b), (1, 2));
        assert_eq!(t.intern(&rules(&["a"])), a);
        assert_eq!(t.rules(b).map(|r| r.len()), Some(2));
        assert_eq!(t.intern(&rules(&[])), 0);
        assert!(t.rules(0).is_none());
    }

    #[test]
    fn released_cookies_are_not_reused() {
        let mut t = CookieTable::new();
        let a = t.intern(&rules(&["a"]));
        let b = t.intern(&rules(&["b"]));
        assert_eq!(t.release_unused(&BTreeSet::from([b])), 1);
        assert!(t.rules(a).is_none());
        let again = t.intern(&rules(&["a"]));
        assert!(again > b, "a released cookie comes back with a new value");
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_restarted_table_counts_past_the_pinned_cookies() {
        let mut t = CookieTable::starting_after(41);
        assert_eq!(t.intern(&rules(&["a"])), 42);
    }
}
