//! The kvstore against a real etcd: each test starts its own lab (one node namespace) with
//! etcd on that namespace's loopback, and runs its client on a tokio runtime whose threads
//! live in the namespace. Needs root (skipped without, failed without in CI).

mod harness;
mod identities;
mod publisher;
mod reflector;
mod store;
mod tls;
