//! DNS-aware policy's pure core: the name selectors of `toFQDNs` and `rules.dns`
//! ([`pattern`]) and the per-endpoint cache of what the DNS proxy learned ([`cache`]).
//! The proxy and the datapath updates that use them live in the agent.

pub mod cache;
pub mod pattern;

pub use cache::{CacheConfig, DnsCache, Gone, Learned, Learnt, Past};
pub use pattern::{NamePattern, PatternError};

/// A DNS name as every part compares it: trimmed, lower-case, with the final dot
/// (`API.Partner.com` → `api.partner.com.`).
pub fn canonical_name(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    if lower.ends_with('.') {
        lower
    } else {
        format!("{lower}.")
    }
}
