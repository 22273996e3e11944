//! A stream's endpoints, each encoded once ([`EndpointEncodings`]): the flows one stream
//! sends mostly name the same few endpoints, and building every flow's two endpoints
//! (their labels cloned into new strings), encoding and freeing them was a third of what
//! streaming a flow cost.
//!
//! An endpoint as a flow shows it is a function of what the getters answered about that
//! side (shared, never changed: `Arc`s) and the identity the event carries, so those are
//! the key: the answers by address, kept alive with the encoding so that no address is
//! reused while it is kept.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use prost::Message;

use super::endpoints::{self, Side};
use crate::getters::EndpointInfo;

/// At most this many encodings are kept; past it, the cache starts afresh (endpoints that
/// changed leave stale entries behind, which this bounds).
const CAPACITY: usize = 4096;

/// Encoded `Endpoint` messages by what they were built from.
#[derive(Debug, Default)]
pub struct EndpointEncodings {
    by_side: HashMap<Key, Kept>,
    /// The two encodings used last (a flow's source and destination): consecutive flows
    /// mostly repeat them, and comparing two keys is cheaper than hashing one.
    recent: [Option<(Key, Bytes)>; 2],
}

impl EndpointEncodings {
    /// The encoded `Endpoint` of `side` seen with `identity`, as [`endpoints::endpoint`]
    /// builds it.
    pub(super) fn encoded(&mut self, side: &Side, identity: u32) -> Bytes {
        let key = Key::of(side, identity);
        if let Some((_, bytes)) = self.recent.iter().flatten().find(|(k, _)| *k == key) {
            return bytes.clone();
        }
        let bytes = match self.by_side.get(&key) {
            Some(kept) => kept.bytes.clone(),
            None => self.insert(key, side, identity),
        };
        self.recent.swap(0, 1);
        self.recent[0] = Some((key, bytes.clone()));
        bytes
    }

    /// Encodes and keeps a side not seen before.
    fn insert(&mut self, key: Key, side: &Side, identity: u32) -> Bytes {
        if self.by_side.len() >= CAPACITY {
            // The recent keys' answers go with the cache: their addresses may be reused.
            self.by_side.clear();
            self.recent = [None, None];
        }
        let bytes = Bytes::from(endpoints::endpoint(side, identity).encode_to_vec());
        let kept = Kept {
            bytes: bytes.clone(),
            _answers: (side.info().cloned(), side.identity_labels().cloned()),
        };
        self.by_side.insert(key, kept);
        bytes
    }

    /// How many encodings are kept.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.by_side.len()
    }
}

/// What an encoding was built from: the addresses of the shared answers, which stay
/// unique while [`Kept`] holds them, and the identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    info: usize,
    labels: usize,
    identity: u32,
}

impl Key {
    fn of(side: &Side, identity: u32) -> Self {
        Self {
            info: side.info().map_or(0, |a| Arc::as_ptr(a) as usize),
            labels: side
                .identity_labels()
                .map_or(0, |a| Arc::as_ptr(a).cast::<String>() as usize),
            identity,
        }
    }
}

/// An encoding and the answers it was built from, kept alive with it.
#[derive(Debug)]
struct Kept {
    bytes: Bytes,
    _answers: (Option<Arc<EndpointInfo>>, Option<Arc<[String]>>),
}

#[cfg(test)]
mod tests {
    use observe_proto::flow::Endpoint;

    use super::*;

    /// The identity is part of the key: one side seen with two identities is two
    /// endpoints, and seen again is served from the cache.
    #[test]
    fn each_side_and_identity_is_encoded_once() {
        let mut cache = EndpointEncodings::default();
        let side = Side::default();
        let world = cache.encoded(&side, 2);
        let host = cache.encoded(&side, 1);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.encoded(&side, 2), world);
        assert_eq!(cache.len(), 2);
        let labels = |b: &Bytes| Endpoint::decode(b.clone()).expect("decodes").labels;
        assert_eq!(labels(&world), ["reserved:world"]);
        assert_eq!(labels(&host), ["reserved:host"]);
    }

    /// Past its capacity the cache starts afresh, and still answers right.
    #[test]
    fn a_full_cache_starts_afresh() {
        let mut cache = EndpointEncodings::default();
        let side = Side::default();
        let world = cache.encoded(&side, 2);
        for identity in 1_000..1_000 + CAPACITY as u32 {
            cache.encoded(&side, identity);
        }
        assert!(cache.len() <= CAPACITY);
        assert_eq!(cache.encoded(&side, 2), world);
    }
}
