//! Identities in etcd, with Cilium's kvstore-mode semantics: one number per label set,
//! the same on every node, allocated safely by several nodes at once, and collected when no
//! node uses it any more. The key layout is in [`keys`]; allocation in `allocate.rs`, the
//! collector in `gc.rs`.

mod allocate;
mod gc;
pub mod keys;

pub use gc::UnusedSince;
