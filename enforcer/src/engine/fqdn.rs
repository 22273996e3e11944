//! `toFQDNs`: the names the DNS proxy learned, turned into identities that policy selects.
//!
//! Each learned address that one of its names makes a `toFQDNs` selector match gets a local
//! identity labelled `fqdn:<selector>` for every such selector, plus its own `cidr:` /32 or
//! /128 label (so CIDR rules that contain it still see it) and the world label. A `toFQDNs`
//! peer selects the identities carrying its label; the ipcache maps the address to its
//! identity. Addresses no selector matches keep the world identity.
//!
//! This is Cilium's earlier model (one identity per address). A new address therefore means
//! a new identity in the selections of the endpoints that use the selector, which the
//! selector cache and dependency index already propagate.

use crate::fqdn::canonical_name as canonical;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::apply::Work;
use super::{Changes, Engine};
use crate::fqdn::NamePattern;
use crate::identity::{Scope, cidr_labels};
use crate::labels::{Label, LabelSet, Source};
use crate::net::Cidr;
use crate::policy::model::{Peer, Peers, Policy};

/// The label source of FQDN selectors (`fqdn:*.partner.com`).
pub const FQDN_SOURCE: &str = "fqdn";

/// Learned names and the identities of their addresses.
#[derive(Clone, Debug, Default)]
pub(super) struct FqdnState {
    /// Lower-case FQDN → addresses, as last set.
    names: BTreeMap<String, BTreeSet<IpAddr>>,
    /// Address → (identity, the selectors it carries).
    pub(super) ids: BTreeMap<IpAddr, (u32, BTreeSet<String>)>,
}

impl Engine {
    /// Replaces the names the DNS proxy learned (name → addresses: the union of this
    /// node's endpoint caches) and recomputes what `toFQDNs` selects.
    pub fn set_dns_names(&mut self, names: BTreeMap<String, BTreeSet<IpAddr>>) -> Changes {
        self.fqdn.names = names
            .into_iter()
            .map(|(name, ips)| (canonical(&name), ips))
            .collect();
        let mut work = Work::default();
        self.refresh_fqdn(&mut work);
        self.finish(work)
    }

    /// The learned names and their addresses.
    pub fn fqdn_names(&self) -> &BTreeMap<String, BTreeSet<IpAddr>> {
        &self.fqdn.names
    }

    /// The names learned for `ip`, for explanations (`destination_names`).
    pub fn dns_names_of(&self, ip: IpAddr) -> Vec<&str> {
        self.fqdn
            .names
            .iter()
            .filter(|(_, ips)| ips.contains(&ip))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// Gives every learned address the identity its matching selectors call for.
    pub(super) fn refresh_fqdn(&mut self, work: &mut Work) {
        let selectors = self.fqdn_selectors();
        let mut wanted: BTreeMap<IpAddr, BTreeSet<String>> = BTreeMap::new();
        for (name, ips) in &self.fqdn.names {
            let matched: Vec<&String> = selectors
                .iter()
                .filter(|(_, pattern)| pattern.matches(name))
                .map(|(label, _)| label)
                .collect();
            if matched.is_empty() {
                continue;
            }
            for ip in ips {
                wanted
                    .entry(*ip)
                    .or_default()
                    .extend(matched.iter().map(|s| (*s).clone()));
            }
        }
        if wanted
            .iter()
            .eq(self.fqdn.ids.iter().map(|(ip, (_, s))| (ip, s)))
        {
            return;
        }
        // The new identities first, so an unchanged address keeps its identity.
        let old = std::mem::take(&mut self.fqdn.ids);
        for (ip, labels) in wanted {
            let host = Cidr::host(ip);
            let id = self.acquire(fqdn_labels(&host, &labels), Scope::Local, Some(host), work);
            self.fqdn.ids.insert(ip, (id, labels));
        }
        for (_, (id, _)) in old {
            self.release(id, work);
        }
        work.ipcache = true;
    }

    /// Every `toFQDNs` selector of the applied policies: its label key and its matcher.
    fn fqdn_selectors(&self) -> BTreeMap<String, NamePattern> {
        self.policies
            .values()
            .flat_map(|p| policy_fqdns(p))
            .filter_map(|text| {
                let (label, pattern) = compile(&text)?;
                Some((label, pattern))
            })
            .collect()
    }
}

/// The `toFQDNs` peers of a policy, as the model writes them (`matchName: x`).
pub(super) fn policy_fqdns(policy: &Policy) -> Vec<String> {
    let mut out = Vec::new();
    for rule in &policy.rules {
        for section in rule.egress.iter().chain(&rule.egress_deny) {
            if let Peers::List(peers) = &section.peers {
                out.extend(peers.iter().filter_map(|p| match p {
                    Peer::Fqdn(text) => Some(text.clone()),
                    _ => None,
                }));
            }
        }
    }
    out
}

/// A model selector (`matchName: x` / `matchPattern: x`) → its label key and matcher.
/// The manifest validated it, so `None` only for a hand-made model.
pub(super) fn compile(text: &str) -> Option<(String, NamePattern)> {
    let (kind, value) = text.split_once(": ")?;
    let pattern = match kind {
        "matchName" => NamePattern::name(value),
        "matchPattern" => NamePattern::pattern(value),
        _ => return None,
    }
    .ok()?;
    Some((value.trim().to_ascii_lowercase(), pattern))
}

/// The label a `toFQDNs` selector is matched through.
pub(super) fn fqdn_label(key: &str) -> Label {
    Label {
        source: Source::Other(FQDN_SOURCE.into()),
        key: key.to_string(),
        value: String::new(),
    }
}

fn fqdn_labels(host: &Cidr, selectors: &BTreeSet<String>) -> LabelSet {
    LabelSet::new(
        cidr_labels(host)
            .iter()
            .cloned()
            .chain(selectors.iter().map(|s| fqdn_label(s))),
    )
}
