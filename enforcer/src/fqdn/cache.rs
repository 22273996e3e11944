//! One endpoint's DNS cache: the names it resolved through the DNS proxy, each with the
//! addresses of the answers and when they expire, and what happened to the addresses it no
//! longer holds (so that a drop to one can be explained).
//!
//! The lifecycle, as Cilium's: an answer's TTL (raised to `min_ttl`) sets the expiry; at most
//! `max_ips_per_name` addresses per name are held, the ones expiring first are evicted; an
//! expired address whose connection is still open becomes a *zombie* and stays selected
//! until conntrack says the connection ended, so a long download does not break at TTL
//! expiry; `idle_grace` keeps an expired address a little longer if the endpoint used it.
//! Time is passed in, never read here, so every transition is tested without waiting.

use super::canonical_name as canonical;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use super::pattern::NamePattern;

/// The cache's settings (Cilium's `tofqdns-*` options).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// The shortest TTL honoured (`tofqdns-min-ttl`; 0: the answer's own TTL).
    pub min_ttl: Duration,
    /// Addresses held per name (`tofqdns-endpoint-max-ip-per-hostname`).
    pub max_ips_per_name: usize,
    /// How long an expired, used address stays (`tofqdns-idle-connection-grace-period`).
    pub idle_grace: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            min_ttl: Duration::ZERO,
            max_ips_per_name: 1000,
            idle_grace: Duration::ZERO,
        }
    }
}

/// One address of a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Learned {
    /// When an answer last carried it.
    pub last_seen: SystemTime,
    /// When it expires (last answer's time + TTL).
    pub expires: SystemTime,
    /// The endpoint opened a connection to it while it was live.
    pub used: bool,
    /// Expired, but a connection to it is still open.
    pub zombie: bool,
}

/// Why an address left the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Gone {
    /// Its TTL ran out (and no connection held it).
    Expired,
    /// More than `max_ips_per_name` addresses: it was the one expiring first.
    Evicted,
}

/// An address the cache no longer holds, kept to explain drops.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Past {
    /// The name it was an answer for.
    pub name: String,
    /// When an answer last carried it.
    pub last_seen: SystemTime,
    /// When it expired or was evicted.
    pub gone_at: SystemTime,
    /// Why.
    pub why: Gone,
}

/// What one answer changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Learnt {
    /// Addresses that were not selected before (the datapath must learn them).
    pub new: Vec<IpAddr>,
    /// Addresses evicted to make room.
    pub evicted: Vec<IpAddr>,
}

/// An endpoint's DNS cache.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DnsCache {
    /// Lower-cased FQDN → address → state.
    names: BTreeMap<String, BTreeMap<IpAddr, Learned>>,
    /// The last departure of each address (bounded by what was once learned).
    past: BTreeMap<IpAddr, Past>,
}

impl DnsCache {
    /// Records an answer for `name` received at `now`: each address with its TTL.
    pub fn learn(
        &mut self,
        config: &CacheConfig,
        name: &str,
        answers: &[(IpAddr, Duration)],
        now: SystemTime,
    ) -> Learnt {
        let name = canonical(name);
        let entry = self.names.entry(name.clone()).or_default();
        let mut out = Learnt::default();
        for (ip, ttl) in answers {
            let expires = now + (*ttl).max(config.min_ttl);
            match entry.get_mut(ip) {
                Some(held) => {
                    held.last_seen = now;
                    held.expires = held.expires.max(expires);
                    held.zombie = false;
                }
                None => {
                    entry.insert(
                        *ip,
                        Learned {
                            last_seen: now,
                            expires,
                            used: false,
                            zombie: false,
                        },
                    );
                    out.new.push(*ip);
                }
            }
        }
        out.evicted = evict_over_limit(entry, config.max_ips_per_name);
        for ip in &out.evicted {
            out.new.retain(|n| n != ip);
        }
        for ip in &out.evicted {
            self.remember(&name, *ip, now, Gone::Evicted);
        }
        for ip in &out.new {
            self.past.remove(ip);
        }
        out
    }

    /// Notes that the endpoint opened a connection to `ip` (for the idle grace).
    pub fn mark_used(&mut self, ip: IpAddr, now: SystemTime) {
        for held in self.names.values_mut().filter_map(|m| m.get_mut(&ip)) {
            if held.expires > now {
                held.used = true;
            }
        }
    }

    /// Expires what is due at `now`. An expired address with an open connection
    /// (`connected`) becomes a zombie and stays; one whose connection ended, or that never
    /// had one, leaves (after the idle grace if it was used). Returns the addresses no
    /// longer selected by any name.
    pub fn collect(
        &mut self,
        config: &CacheConfig,
        now: SystemTime,
        connected: impl Fn(IpAddr) -> bool,
    ) -> Vec<IpAddr> {
        let mut gone = Vec::new();
        for (name, ips) in &mut self.names {
            ips.retain(|ip, held| {
                let deadline = if held.used {
                    held.expires + config.idle_grace
                } else {
                    held.expires
                };
                if deadline > now {
                    return true;
                }
                if connected(*ip) {
                    held.zombie = true;
                    return true;
                }
                gone.push((name.clone(), *ip, held.last_seen, held.expires));
                false
            });
        }
        self.names.retain(|_, ips| !ips.is_empty());
        let mut released = Vec::new();
        for (name, ip, last_seen, expired) in gone {
            self.past.insert(
                ip,
                Past {
                    name,
                    last_seen,
                    gone_at: expired,
                    why: Gone::Expired,
                },
            );
            if !self.holds(ip) {
                released.push(ip);
            }
        }
        released.sort();
        released.dedup();
        released
    }

    /// The names `ip` currently answers for (for a flow's `destination_names`).
    pub fn names_of(&self, ip: IpAddr) -> Vec<&str> {
        self.names
            .iter()
            .filter(|(_, ips)| ips.contains_key(&ip))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// The addresses of every name `selector` matches: what a `toFQDNs` entry selects.
    pub fn selected(&self, selector: &NamePattern) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = self
            .names
            .iter()
            .filter(|(name, _)| selector.matches(name))
            .flat_map(|(_, ips)| ips.keys().copied())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The state of `ip` under `name`, if held.
    pub fn get(&self, name: &str, ip: IpAddr) -> Option<&Learned> {
        self.names.get(&canonical(name))?.get(&ip)
    }

    /// Why `ip` is no longer held, if it once was and is not now.
    pub fn departed(&self, ip: IpAddr) -> Option<&Past> {
        if self.holds(ip) {
            return None;
        }
        self.past.get(&ip)
    }

    /// Every address once held and not held now, with why it left.
    pub fn departures(&self) -> impl Iterator<Item = (IpAddr, &Past)> {
        self.past
            .iter()
            .filter(|(ip, _)| !self.holds(**ip))
            .map(|(ip, past)| (*ip, past))
    }

    /// Every held entry, in name and address order (for `observe get fqdn`).
    pub fn entries(&self) -> impl Iterator<Item = (&str, IpAddr, &Learned)> {
        self.names
            .iter()
            .flat_map(|(name, ips)| ips.iter().map(move |(ip, held)| (name.as_str(), *ip, held)))
    }

    fn holds(&self, ip: IpAddr) -> bool {
        self.names.values().any(|ips| ips.contains_key(&ip))
    }

    fn remember(&mut self, name: &str, ip: IpAddr, at: SystemTime, why: Gone) {
        let last_seen = self.past.get(&ip).map_or(at, |p| p.last_seen);
        self.past.insert(
            ip,
            Past {
                name: name.to_string(),
                last_seen,
                gone_at: at,
                why,
            },
        );
    }
}

/// Drops the addresses expiring first until at most `max` remain; returns them.
fn evict_over_limit(ips: &mut BTreeMap<IpAddr, Learned>, max: usize) -> Vec<IpAddr> {
    let excess = ips.len().saturating_sub(max);
    if excess == 0 {
        return Vec::new();
    }
    let mut by_expiry: Vec<(SystemTime, IpAddr)> =
        ips.iter().map(|(ip, held)| (held.expires, *ip)).collect();
    by_expiry.sort();
    let evicted: Vec<IpAddr> = by_expiry
        .into_iter()
        .take(excess)
        .map(|(_, ip)| ip)
        .collect();
    for ip in &evicted {
        ips.remove(ip);
    }
    evicted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn ttl(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    const NOTHING_OPEN: fn(IpAddr) -> bool = |_| false;

    #[test]
    fn an_answer_is_held_for_its_ttl_then_expires_and_is_remembered() {
        let config = CacheConfig::default();
        let mut cache = DnsCache::default();
        let learnt = cache.learn(
            &config,
            "API.partner.com",
            &[(ip("203.0.113.10"), ttl(60))],
            t(0),
        );
        assert_eq!(learnt.new, vec![ip("203.0.113.10")]);
        assert_eq!(cache.names_of(ip("203.0.113.10")), vec!["api.partner.com."]);
        assert!(cache.collect(&config, t(59), NOTHING_OPEN).is_empty());
        assert_eq!(
            cache.collect(&config, t(60), NOTHING_OPEN),
            vec![ip("203.0.113.10")]
        );
        assert!(cache.names_of(ip("203.0.113.10")).is_empty());
        let past = cache.departed(ip("203.0.113.10")).unwrap();
        assert_eq!(
            (past.name.as_str(), past.last_seen, past.gone_at, past.why),
            ("api.partner.com.", t(0), t(60), Gone::Expired)
        );
    }

    #[test]
    fn a_repeated_answer_extends_the_expiry_and_is_not_new() {
        let config = CacheConfig::default();
        let mut cache = DnsCache::default();
        cache.learn(&config, "a.io", &[(ip("192.0.2.1"), ttl(10))], t(0));
        let again = cache.learn(&config, "a.io.", &[(ip("192.0.2.1"), ttl(10))], t(8));
        assert!(again.new.is_empty());
        assert!(cache.collect(&config, t(15), NOTHING_OPEN).is_empty());
        assert_eq!(cache.get("a.io", ip("192.0.2.1")).unwrap().expires, t(18));
        // A shorter TTL later never shortens what an earlier answer granted.
        cache.learn(&config, "a.io", &[(ip("192.0.2.1"), ttl(1))], t(9));
        assert_eq!(cache.get("a.io", ip("192.0.2.1")).unwrap().expires, t(18));
    }

    #[test]
    fn the_minimum_ttl_raises_short_answers() {
        let config = CacheConfig {
            min_ttl: ttl(300),
            ..CacheConfig::default()
        };
        let mut cache = DnsCache::default();
        cache.learn(&config, "a.io", &[(ip("192.0.2.1"), ttl(0))], t(0));
        assert!(cache.collect(&config, t(299), NOTHING_OPEN).is_empty());
        assert_eq!(cache.collect(&config, t(300), NOTHING_OPEN).len(), 1);
    }

    #[test]
    fn past_the_per_name_limit_the_addresses_expiring_first_are_evicted() {
        let config = CacheConfig {
            max_ips_per_name: 2,
            ..CacheConfig::default()
        };
        let mut cache = DnsCache::default();
        cache.learn(&config, "s3.io", &[(ip("198.51.100.1"), ttl(10))], t(0));
        cache.learn(&config, "s3.io", &[(ip("198.51.100.2"), ttl(100))], t(0));
        let learnt = cache.learn(&config, "s3.io", &[(ip("198.51.100.3"), ttl(50))], t(1));
        assert_eq!(learnt.new, vec![ip("198.51.100.3")]);
        assert_eq!(learnt.evicted, vec![ip("198.51.100.1")]);
        let past = cache.departed(ip("198.51.100.1")).unwrap();
        assert_eq!((past.why, past.gone_at), (Gone::Evicted, t(1)));
        // An answer that is itself the first to expire is evicted at once, and is not new.
        let short = cache.learn(&config, "s3.io", &[(ip("198.51.100.4"), ttl(1))], t(2));
        assert_eq!(
            (short.new, short.evicted),
            (vec![], vec![ip("198.51.100.4")])
        );
    }

    #[test]
    fn an_expired_address_with_an_open_connection_is_a_zombie_until_it_closes() {
        let config = CacheConfig::default();
        let mut cache = DnsCache::default();
        let dl = ip("203.0.113.20");
        cache.learn(&config, "dl.partner.com", &[(dl, ttl(60))], t(0));
        assert!(cache.collect(&config, t(61), |i| i == dl).is_empty());
        assert!(cache.get("dl.partner.com", dl).unwrap().zombie);
        assert_eq!(cache.names_of(dl), vec!["dl.partner.com."]);
        assert!(cache.departed(dl).is_none());
        // The download ends: the next collection releases it.
        assert_eq!(cache.collect(&config, t(400), NOTHING_OPEN), vec![dl]);
        assert_eq!(cache.departed(dl).unwrap().gone_at, t(60));
    }

    #[test]
    fn a_fresh_answer_revives_a_zombie() {
        let config = CacheConfig::default();
        let mut cache = DnsCache::default();
        let a = ip("192.0.2.7");
        cache.learn(&config, "a.io", &[(a, ttl(5))], t(0));
        cache.collect(&config, t(10), |_| true);
        cache.learn(&config, "a.io", &[(a, ttl(5))], t(11));
        let held = cache.get("a.io", a).unwrap();
        assert!(!held.zombie);
        assert_eq!(held.expires, t(16));
    }

    #[test]
    fn the_idle_grace_keeps_only_addresses_the_endpoint_used() {
        let config = CacheConfig {
            idle_grace: ttl(30),
            ..CacheConfig::default()
        };
        let mut cache = DnsCache::default();
        let (used, unused) = (ip("192.0.2.1"), ip("192.0.2.2"));
        cache.learn(&config, "a.io", &[(used, ttl(10)), (unused, ttl(10))], t(0));
        cache.mark_used(used, t(5));
        assert_eq!(cache.collect(&config, t(10), NOTHING_OPEN), vec![unused]);
        assert!(cache.collect(&config, t(39), NOTHING_OPEN).is_empty());
        assert_eq!(cache.collect(&config, t(40), NOTHING_OPEN), vec![used]);
        // A connection opened after expiry does not count.
        cache.learn(&config, "b.io", &[(unused, ttl(10))], t(100));
        cache.mark_used(unused, t(111));
        assert_eq!(cache.collect(&config, t(111), NOTHING_OPEN), vec![unused]);
    }

    #[test]
    fn an_address_shared_by_two_names_is_released_only_when_both_let_go() {
        let config = CacheConfig::default();
        let mut cache = DnsCache::default();
        let cdn = ip("198.51.100.80");
        cache.learn(&config, "a.io", &[(cdn, ttl(10))], t(0));
        cache.learn(&config, "b.io", &[(cdn, ttl(100))], t(0));
        assert!(cache.collect(&config, t(50), NOTHING_OPEN).is_empty());
        assert_eq!(cache.names_of(cdn), vec!["b.io."]);
        assert!(cache.departed(cdn).is_none());
        assert_eq!(cache.collect(&config, t(100), NOTHING_OPEN), vec![cdn]);
    }

    #[test]
    fn a_selector_selects_the_addresses_of_every_name_it_matches() {
        let config = CacheConfig::default();
        let mut cache = DnsCache::default();
        cache.learn(
            &config,
            "api.partner.com",
            &[(ip("203.0.113.10"), ttl(60))],
            t(0),
        );
        cache.learn(
            &config,
            "www.partner.com",
            &[(ip("203.0.113.11"), ttl(60))],
            t(0),
        );
        cache.learn(&config, "evil.com", &[(ip("192.0.2.66"), ttl(60))], t(0));
        let pattern = NamePattern::pattern("*.partner.com").unwrap();
        assert_eq!(
            cache.selected(&pattern),
            vec![ip("203.0.113.10"), ip("203.0.113.11")]
        );
        let name = NamePattern::name("api.partner.com").unwrap();
        assert_eq!(cache.selected(&name), vec![ip("203.0.113.10")]);
    }

    #[test]
    fn the_cache_survives_a_round_trip_through_json() {
        let config = CacheConfig::default();
        let mut cache = DnsCache::default();
        cache.learn(&config, "a.io", &[(ip("2001:db8::1"), ttl(60))], t(0));
        cache.learn(&config, "b.io", &[(ip("192.0.2.1"), ttl(1))], t(0));
        cache.collect(&config, t(5), NOTHING_OPEN);
        let text = serde_json::to_string(&cache).unwrap();
        let back: DnsCache = serde_json::from_str(&text).unwrap();
        assert_eq!(back, cache);
    }
}
