//! A stream's endpoints, each encoded once ([`EndpointEncodings`]): the flows one stream
//! sends mostly name the same few endpoints, and building every flow's two endpoints
//! (their labels cloned into new strings), encoding and freeing them was a third of what
//! streaming a flow cost.
//!
//! An endpoint as a flow shows it is a function of what the getters answered about that
//! side (shared, never changed: `Arc`s) and the identity the event carries, so those are
//! the key. Keeping the `Arc`s in the key also keeps their addresses from being reused
//! while an encoding is kept.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
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
    by_side: HashMap<Key, Bytes>,
}

impl EndpointEncodings {
    /// The encoded `Endpoint` of `side` seen with `identity`, as [`endpoints::endpoint`]
    /// builds it.
    pub(super) fn encoded(&mut self, side: &Side, identity: u32) -> Bytes {
        let key = Key {
            info: side.info().cloned(),
            labels: side.identity_labels().cloned(),
            identity,
        };
        if let Some(bytes) = self.by_side.get(&key) {
            return bytes.clone();
        }
        if self.by_side.len() >= CAPACITY {
            self.by_side.clear();
        }
        let bytes = Bytes::from(endpoints::endpoint(side, identity).encode_to_vec());
        self.by_side.insert(key, bytes.clone());
        bytes
    }

    /// How many encodings are kept.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.by_side.len()
    }
}

/// What an encoding was built from, compared by the addresses of the shared answers.
#[derive(Debug)]
struct Key {
    info: Option<Arc<EndpointInfo>>,
    labels: Option<Arc<[String]>>,
    identity: u32,
}

impl Key {
    fn addresses(&self) -> (usize, usize) {
        (
            self.info.as_ref().map_or(0, |a| Arc::as_ptr(a) as usize),
            self.labels
                .as_ref()
                .map_or(0, |a| Arc::as_ptr(a).cast::<String>() as usize),
        )
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.identity == other.identity && self.addresses() == other.addresses()
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.addresses().hash(state);
        self.identity.hash(state);
    }
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
}
