//! A counter family's series: counts by label values, with a cap on how many distinct
//! label sets are kept. Past the cap, new label sets are counted in one overflow series
//! whose labels all read `other`, so a flood of distinct ports or policies costs a
//! bounded amount of memory and scrape size, and the family's total stays exact.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::text::{Encoder, Kind};

/// Distinct label sets kept per family.
pub(crate) const SERIES_LIMIT: usize = 4096;

/// Counters by key (the label values, in the family's label order).
#[derive(Debug)]
pub(crate) struct CounterVec<K> {
    series: HashMap<K, u64, BuildHasherDefault<Fnv>>,
    overflow: u64,
    limit: usize,
}

impl<K: Hash + Eq + Ord> Default for CounterVec<K> {
    fn default() -> Self {
        Self::with_limit(SERIES_LIMIT)
    }
}

impl<K: Hash + Eq + Ord> CounterVec<K> {
    /// At most `limit` distinct keys.
    pub(crate) fn with_limit(limit: usize) -> Self {
        Self {
            series: HashMap::default(),
            overflow: 0,
            limit,
        }
    }

    /// Adds one to `key`'s series (or the overflow series when full).
    pub(crate) fn inc(&mut self, key: K) {
        if let Some(count) = self.series.get_mut(&key) {
            *count += 1;
        } else if self.series.len() < self.limit {
            self.series.insert(key, 1);
        } else {
            self.overflow += 1;
        }
    }

    /// Writes the family: `labels` names the label of each key position, `values`
    /// turns a key into label values in that order.
    pub(crate) fn encode<const N: usize>(
        &self,
        out: &mut Encoder,
        (name, help): (&str, &str),
        labels: [&str; N],
        values: impl Fn(&K) -> [String; N],
    ) {
        out.family(name, Kind::Counter, help);
        let mut series: Vec<_> = self.series.iter().collect();
        series.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (key, count) in series {
            let values = values(key);
            let pairs: [(&str, &str); N] = std::array::from_fn(|i| (labels[i], values[i].as_str()));
            out.sample(name, &pairs, count);
        }
        if self.overflow > 0 {
            let pairs: [(&str, &str); N] = std::array::from_fn(|i| (labels[i], "other"));
            out.sample(name, &pairs, self.overflow);
        }
    }

    /// The count of `key` (tests).
    #[cfg(test)]
    pub(crate) fn get(&self, key: &K) -> u64 {
        self.series.get(key).copied().unwrap_or(0)
    }
}

/// FNV-1a: label keys are short, trusted (computed by the handlers, not chosen by
/// clients) and hashed once per flow per family, where SipHash's flood resistance buys
/// nothing and costs about half of the hook's time.
#[derive(Debug)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_folds_new_series_into_other() {
        let mut c = CounterVec::with_limit(2);
        for key in ["a", "b", "a", "c", "d"] {
            c.inc(key);
        }
        assert_eq!((c.get(&"a"), c.get(&"b"), c.get(&"c")), (2, 1, 0));
        let mut out = Encoder::new();
        c.encode(&mut out, ("t_total", "T"), ["k"], |k| [k.to_string()]);
        let text = out.finish();
        assert!(text.contains("t_total{k=\"a\"} 2\n"));
        assert!(text.contains("t_total{k=\"other\"} 2\n"), "{text}");
    }
}
