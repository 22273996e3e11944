//! [`Listing`]: a section's contents at one revision, and the paged range read behind it
//! (pages of 1,000 keys pinned to the first page's revision, so a large section neither
//! hits the gRPC message size limit nor mixes revisions).

use std::collections::BTreeMap;

use etcd_client::{GetOptions, KeyValue};

use crate::error::Error;
use crate::keys::{Keys, prefix_end};
use crate::section::Section;
use crate::store::{Store, revision_of};

/// Keys per page of a range read.
const PAGE: i64 = 1000;

/// A section's contents at one revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// The etcd revision the listing was read at.
    pub revision: i64,
    /// Values by key relative to the section.
    pub items: BTreeMap<String, Vec<u8>>,
}

/// The listing of `section` from raw key-values; keys outside the section or not UTF-8 are
/// skipped and logged.
pub(crate) fn from_kvs(
    keys: &Keys,
    section: Section,
    revision: i64,
    kvs: Vec<KeyValue>,
) -> Listing {
    let mut items = BTreeMap::new();
    let mut skipped = 0usize;
    for kv in kvs {
        let (key, value) = kv.into_key_value();
        match keys.relative(section, &key) {
            Some(rel) => {
                items.insert(rel, value);
            }
            None => skipped += 1,
        }
    }
    if skipped > 0 {
        tracing::warn!(%section, skipped, "kvstore: skipped keys that are not UTF-8");
    }
    Listing { revision, items }
}

/// Every key-value under `prefix` at `revision` (the latest if `None`) and that revision.
pub(crate) async fn read_range(
    store: &Store,
    prefix: &str,
    revision: Option<i64>,
    keys_only: bool,
) -> Result<(i64, Vec<KeyValue>), Error> {
    let end = prefix_end(prefix);
    let op = || format!("list {prefix}");
    let mut from = prefix.as_bytes().to_vec();
    let mut pinned = revision;
    let mut out = Vec::new();
    loop {
        let mut options = GetOptions::new().with_range(end.clone()).with_limit(PAGE);
        if let Some(rev) = pinned {
            options = options.with_revision(rev);
        }
        if keys_only {
            options = options.with_keys_only();
        }
        let mut resp = store.get(from.clone(), options, op).await?;
        let rev = match pinned {
            Some(rev) => rev,
            None => revision_of(resp.header(), op)?,
        };
        pinned = Some(rev);
        let more = resp.more();
        let page = resp.take_kvs();
        let Some(last) = page.last() else {
            return Ok((rev, out));
        };
        from = next_key(last.key());
        out.extend(page);
        if !more {
            return Ok((rev, out));
        }
    }
}

/// The smallest key after `key`.
fn next_key(key: &[u8]) -> Vec<u8> {
    let mut next = key.to_vec();
    next.push(0);
    next
}
