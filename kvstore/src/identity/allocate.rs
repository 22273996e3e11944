//! [`Store::allocate_identity`]: the number of a label set, the same on every node.
//!
//! An existing `labels/<l>` is returned after touching `id/<n>` (re-putting its value in a
//! transaction guarded by that value), so a collector that saw the number unused sees a new
//! mod revision and backs off. Otherwise numbers are claimed with a transaction that puts
//! `id/<n>` and `labels/<l>` only if neither exists: `preferred` first, then the next free
//! numbers of the range (wrapping). After a lost race the labels are read again: another
//! node that allocated the same labels wins, and its number is returned.

use std::collections::HashSet;
use std::ops::RangeInclusive;

use etcd_client::{Compare, CompareOp, GetOptions, Txn, TxnOp};

use super::keys::{ID_PREFIX, id_key, labels_key, parse_id_key, parse_number};
use crate::error::Error;
use crate::section::Section;
use crate::store::Store;

/// How often the label set's entry may change under one allocation before it gives up.
const MAX_ROUNDS: u32 = 8;
/// How many numbers one allocation tries to claim at most.
const MAX_PROBES: u32 = 64;

impl Store {
    /// The identity number of `labels` (any non-empty text: the agent's canonical label
    /// set), allocated in `range` if it has none yet, trying `preferred` first (when it lies
    /// in the range). Safe to call concurrently from many nodes: all get the same number.
    ///
    /// The caller should publish its use (`users/<n>/<node>`, see
    /// [`user_key`](crate::identity::keys::user_key)) within the collector's grace period.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for empty labels or an empty range; [`Error::Exhausted`]
    /// when no number could be claimed within the attempts allowed (range full or heavy
    /// contention); [`Error::InvalidValue`] when the stored entries contradict each other;
    /// [`Error::Etcd`] / [`Error::Timeout`].
    pub async fn allocate_identity(
        &self,
        labels: &str,
        preferred: u32,
        range: RangeInclusive<u32>,
    ) -> Result<u32, Error> {
        validate(labels, &range)?;
        let mut probes = 0;
        for _ in 0..MAX_ROUNDS {
            if let Some(id) = self.identity_of(labels).await? {
                if self.touch_identity(labels, id).await? {
                    return Ok(id);
                }
                continue;
            }
            if let Some(id) = self
                .claim_free(labels, preferred, &range, &mut probes)
                .await?
            {
                return Ok(id);
            }
        }
        Err(exhausted(labels, &range, probes))
    }

    /// The number `labels/<labels>` holds, if any.
    async fn identity_of(&self, labels: &str) -> Result<Option<u32>, Error> {
        let key = self.ident_key(&labels_key(labels));
        let op = || format!("read {key}");
        let mut resp = self
            .get(key.clone().into_bytes(), GetOptions::new(), op)
            .await?;
        let Some(kv) = resp.take_kvs().into_iter().next() else {
            return Ok(None);
        };
        let number = std::str::from_utf8(kv.value()).ok().and_then(parse_number);
        number.map(Some).ok_or_else(|| Error::InvalidValue {
            key: key.clone(),
            reason: format!(
                "not an identity number: {:?}",
                String::from_utf8_lossy(kv.value())
            ),
        })
    }

    /// Re-puts `id/<id>` if it still holds `labels` and `labels/<labels>` still points to
    /// it; re-creates a missing `id/<id>` that `labels/<labels>` points to. `false` when
    /// either changed meanwhile (the caller looks again).
    async fn touch_identity(&self, labels: &str, id: u32) -> Result<bool, Error> {
        let id_full = self.ident_key(&id_key(id));
        let labels_full = self.ident_key(&labels_key(labels));
        let touch = Txn::new()
            .when([
                Compare::value(id_full.clone(), CompareOp::Equal, labels),
                Compare::value(labels_full.clone(), CompareOp::Equal, id.to_string()),
            ])
            .and_then([TxnOp::put(id_full.clone(), labels, None)]);
        if self
            .txn(|| format!("touch {id_full}"), touch)
            .await?
            .succeeded()
        {
            return Ok(true);
        }
        match self.value_of(&id_full).await? {
            None => self.repair_identity(labels, id).await,
            Some(held) if held == labels.as_bytes() => Ok(false),
            Some(_) => Err(Error::InvalidValue {
                key: labels_full,
                reason: format!("points to identity {id}, which holds other labels"),
            }),
        }
    }

    /// Re-creates `id/<id>` for `labels` when `labels/<labels>` points to it but it is gone.
    async fn repair_identity(&self, labels: &str, id: u32) -> Result<bool, Error> {
        let id_full = self.ident_key(&id_key(id));
        let labels_full = self.ident_key(&labels_key(labels));
        tracing::warn!(key = %id_full, "kvstore: re-creating a missing identity entry");
        let repair = Txn::new()
            .when([
                Compare::create_revision(id_full.clone(), CompareOp::Equal, 0),
                Compare::value(labels_full, CompareOp::Equal, id.to_string()),
            ])
            .and_then([TxnOp::put(id_full.clone(), labels, None)]);
        Ok(self
            .txn(|| format!("repair {id_full}"), repair)
            .await?
            .succeeded())
    }

    /// Claims `preferred`, then free numbers after it; `None` when the labels got a number
    /// from someone else meanwhile.
    async fn claim_free(
        &self,
        labels: &str,
        preferred: u32,
        range: &RangeInclusive<u32>,
        probes: &mut u32,
    ) -> Result<Option<u32>, Error> {
        let start = if range.contains(&preferred) {
            preferred
        } else {
            *range.start()
        };
        *probes += 1;
        if self.try_claim(labels, start).await? {
            return Ok(Some(start));
        }
        if self.identity_of(labels).await?.is_some() {
            return Ok(None);
        }
        let taken = self.taken_ids().await?;
        let mut candidate = start;
        // Each step either skips a taken number or spends a probe, so this ends.
        for _ in 1..range_len(range) {
            candidate = next_in(candidate, range);
            if taken.contains(&candidate) {
                continue;
            }
            if *probes >= MAX_PROBES {
                break;
            }
            *probes += 1;
            if self.try_claim(labels, candidate).await? {
                return Ok(Some(candidate));
            }
            if self.identity_of(labels).await?.is_some() {
                return Ok(None);
            }
        }
        Err(exhausted(labels, range, *probes))
    }

    /// Puts `id/<id>` and `labels/<labels>` if neither exists.
    async fn try_claim(&self, labels: &str, id: u32) -> Result<bool, Error> {
        let id_full = self.ident_key(&id_key(id));
        let labels_full = self.ident_key(&labels_key(labels));
        let claim = Txn::new()
            .when([
                Compare::create_revision(labels_full.clone(), CompareOp::Equal, 0),
                Compare::create_revision(id_full.clone(), CompareOp::Equal, 0),
            ])
            .and_then([
                TxnOp::put(id_full.clone(), labels, None),
                TxnOp::put(labels_full, id.to_string(), None),
            ]);
        Ok(self
            .txn(|| format!("claim {id_full}"), claim)
            .await?
            .succeeded())
    }

    /// The numbers with an `id/<n>` entry.
    async fn taken_ids(&self) -> Result<HashSet<u32>, Error> {
        let (_, kvs) = self.range(&self.ident_key(ID_PREFIX), None, true).await?;
        let section = Section::Identities;
        Ok(kvs
            .iter()
            .filter_map(|kv| self.keys().relative(section, kv.key()))
            .filter_map(|rel| parse_id_key(&rel))
            .collect())
    }

    /// The value at a full key, if it exists.
    async fn value_of(&self, full: &str) -> Result<Option<Vec<u8>>, Error> {
        let op = || format!("read {full}");
        let mut resp = self
            .get(full.as_bytes().to_vec(), GetOptions::new(), op)
            .await?;
        Ok(resp
            .take_kvs()
            .into_iter()
            .next()
            .map(|kv| kv.into_key_value().1))
    }

    /// The full key of an identity-section key.
    pub(crate) fn ident_key(&self, relative: &str) -> String {
        self.full_key(Section::Identities, relative)
    }
}

fn validate(labels: &str, range: &RangeInclusive<u32>) -> Result<(), Error> {
    if labels.is_empty() {
        return Err(Error::InvalidArgument("empty label set".into()));
    }
    if range.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "empty identity range {}..={}",
            range.start(),
            range.end()
        )));
    }
    Ok(())
}

/// How many numbers the (non-empty) range holds.
fn range_len(range: &RangeInclusive<u32>) -> u64 {
    u64::from(*range.end()) - u64::from(*range.start()) + 1
}

/// The number after `n` in the range, wrapping to its start.
fn next_in(n: u32, range: &RangeInclusive<u32>) -> u32 {
    if n >= *range.end() {
        *range.start()
    } else {
        n + 1
    }
}

fn exhausted(labels: &str, range: &RangeInclusive<u32>, attempts: u32) -> Error {
    Error::Exhausted {
        labels: labels.to_owned(),
        range: format!("{}..={}", range.start(), range.end()),
        attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probing_wraps_within_the_range() {
        let range = 10..=12;
        assert_eq!(next_in(10, &range), 11);
        assert_eq!(next_in(12, &range), 10);
        assert_eq!(range_len(&range), 3);
        assert_eq!(range_len(&(0..=u32::MAX)), 1 << 32);
    }

    #[test]
    fn empty_labels_and_ranges_are_refused() {
        assert!(validate("", &(1..=2)).is_err());
        #[allow(clippy::reversed_empty_ranges)]
        let empty = 3..=2;
        assert!(validate("a", &empty).is_err());
        assert!(validate("a", &(5..=5)).is_ok());
    }
}
