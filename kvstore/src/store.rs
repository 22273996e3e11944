//! [`Store`]: a connection to etcd under one key prefix, and the plain operations on a
//! section: [`Store::commit`] (one transaction) and [`Store::list`]. Identity allocation,
//! status, the reflector and the publisher build on it in their own files.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use etcd_client::{Client, GetOptions, PutOptions, ResponseHeader, Txn, TxnOp, TxnResponse};

use crate::config::Config;
use crate::error::Error;
use crate::keys::Keys;
use crate::listing::{self, Listing};
use crate::section::Section;

/// Operations etcd accepts in one transaction by default (`--max-txn-ops`).
pub const MAX_TXN_OPS: usize = 128;
/// The key, in a section, of a commit too large for one transaction while it is written.
pub const FENCE_KEY: &str = "~commit-in-progress";
/// How long a fence outlives a writer that died half-way.
pub const FENCE_TTL: Duration = Duration::from_secs(30);

/// Whether a section's items hold a fence: a commit is half-written; hold the old view.
pub fn is_fenced<V>(items: &std::collections::BTreeMap<String, V>) -> bool {
    items.contains_key(FENCE_KEY)
}

/// A connection to etcd (a cheap, cloneable handle) and the key prefix it works under.
#[derive(Clone)]
pub struct Store {
    client: Client,
    keys: Arc<Keys>,
    endpoints: Arc<str>,
    request_timeout: Duration,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("endpoints", &self.endpoints)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects to the endpoints of `cfg` and checks that one answers a read, so an
    /// unreachable etcd fails here (within the connect timeout) rather than later.
    ///
    /// # Errors
    ///
    /// [`Error::TlsConfig`] / [`Error::TlsFile`] for the TLS settings, [`Error::InvalidUrl`]
    /// for an endpoint the client refuses, [`Error::Unreachable`] (naming the endpoints)
    /// when no endpoint answers in time.
    pub async fn connect(cfg: &Config) -> Result<Store, Error> {
        let endpoints: Arc<str> = cfg.endpoints.join(",").into();
        let client = open_client(cfg, &endpoints).await?;
        let store = Store {
            client,
            keys: Arc::new(Keys::new(&cfg.prefix)),
            endpoints: endpoints.clone(),
            request_timeout: cfg.request_timeout,
        };
        store
            .probe(cfg.connect_timeout)
            .await
            .map_err(|e| unreachable(&endpoints, e))?;
        Ok(store)
    }

    /// The endpoints, comma-separated, as given.
    pub fn endpoints(&self) -> &str {
        &self.endpoints
    }

    /// The underlying etcd client, for what this crate does not offer (tests use it to
    /// revoke leases behind the publisher's back).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The full etcd key of `relative` in `section` (`<prefix><section>/<relative>`).
    pub fn full_key(&self, section: Section, relative: &str) -> String {
        self.keys.full(section, relative)
    }

    /// Writes every put and delete of `section` in one transaction: all of them or none.
    /// Keys are relative to the section. Returns the revision the transaction was written
    /// at (the current revision when there was nothing to write).
    ///
    /// etcd limits one transaction to [`MAX_TXN_OPS`] operations by default
    /// (`--max-txn-ops`). A larger commit is written as several transactions behind a
    /// fence: the first puts [`FENCE_KEY`] in the section (under a lease of
    /// [`FENCE_TTL`]), the last deletes it, and readers hold their view of the section
    /// while the fence stands ([`is_fenced`]), so they see all of the commit or none of
    /// it. Should the writer die half-way, the lease takes the fence down and readers go
    /// on with what was written. (1.5 MiB per request, `--max-request-bytes`, still
    /// applies to each transaction.)
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateKey`] when a key appears twice (nothing is sent);
    /// [`Error::Etcd`] / [`Error::Timeout`] when etcd refuses or does not answer: then
    /// nothing was written, except that after a timeout the transaction may still have
    /// been applied.
    pub async fn commit(
        &self,
        section: Section,
        puts: Vec<(String, Vec<u8>)>,
        deletes: Vec<String>,
    ) -> Result<i64, Error> {
        check_unique(puts.iter().map(|(k, _)| k).chain(&deletes))?;
        let ops: Vec<TxnOp> = puts
            .into_iter()
            .map(|(k, v)| TxnOp::put(self.keys.full(section, &k), v, None))
            .chain(
                deletes
                    .iter()
                    .map(|k| TxnOp::delete(self.keys.full(section, k), None)),
            )
            .collect();
        if ops.len() > MAX_TXN_OPS {
            return self.commit_fenced(section, ops).await;
        }
        let op = || format!("commit to {section}");
        let resp = self.txn(op, Txn::new().and_then(ops)).await?;
        revision_of(resp.header(), op)
    }

    /// A commit of more than [`MAX_TXN_OPS`] operations, behind [`FENCE_KEY`].
    async fn commit_fenced(&self, section: Section, ops: Vec<TxnOp>) -> Result<i64, Error> {
        let count = ops.len();
        let op = || format!("commit to {section} ({count} operations, fenced)");
        let mut leases = self.client.lease_client();
        let ttl = i64::try_from(FENCE_TTL.as_secs()).unwrap_or(i64::MAX);
        let lease = self.timed(&op, leases.grant(ttl, None)).await?.id();
        let fence = self.keys.full(section, FENCE_KEY);
        let put_fence = TxnOp::put(
            fence.clone(),
            "commit in progress",
            Some(PutOptions::new().with_lease(lease)),
        );
        let mut chunks: Vec<Vec<TxnOp>> = Vec::new();
        let mut rest = ops.into_iter().peekable();
        while rest.peek().is_some() {
            // One slot of each transaction is the fence's.
            chunks.push(rest.by_ref().take(MAX_TXN_OPS - 1).collect());
        }
        let last = chunks.len() - 1;
        let mut revision = 0;
        for (i, mut chunk) in chunks.into_iter().enumerate() {
            if i == 0 {
                chunk.push(put_fence.clone());
            }
            if i == last {
                chunk.push(TxnOp::delete(fence.clone(), None));
            }
            let resp = match self.txn(op, Txn::new().and_then(chunk)).await {
                Ok(resp) => resp,
                Err(e) => {
                    // Readers go on with what was written rather than wait for the lease.
                    let _ = self.timed(&op, leases.revoke(lease)).await;
                    return Err(e);
                }
            };
            revision = revision_of(resp.header(), op)?;
        }
        let _ = self.timed(&op, leases.revoke(lease)).await;
        Ok(revision)
    }

    /// Everything in `section` at one revision, keys relative to the section. Keys that are
    /// not UTF-8 are skipped (and logged).
    ///
    /// # Errors
    ///
    /// [`Error::Etcd`] / [`Error::Timeout`]; [`Error::Malformed`] for a response without
    /// a header.
    pub async fn list(&self, section: Section) -> Result<Listing, Error> {
        let (revision, kvs) = self.range(&self.keys.section(section), None, false).await?;
        Ok(listing::from_kvs(&self.keys, section, revision, kvs))
    }

    /// Every key-value under `prefix` (a full key) at `revision` (the latest if `None`),
    /// read in pages, and the revision read at.
    pub(crate) async fn range(
        &self,
        prefix: &str,
        revision: Option<i64>,
        keys_only: bool,
    ) -> Result<(i64, Vec<etcd_client::KeyValue>), Error> {
        listing::read_range(self, prefix, revision, keys_only).await
    }

    /// One page of a range read.
    pub(crate) async fn get(
        &self,
        key: Vec<u8>,
        options: GetOptions,
        op: impl Fn() -> String,
    ) -> Result<etcd_client::GetResponse, Error> {
        let mut kv = self.client.kv_client();
        self.timed(&op, kv.get(key, Some(options))).await
    }

    /// Runs a transaction.
    pub(crate) async fn txn(
        &self,
        op: impl Fn() -> String,
        txn: Txn,
    ) -> Result<TxnResponse, Error> {
        let mut kv = self.client.kv_client();
        self.timed(&op, kv.txn(txn)).await
    }

    /// Awaits `fut` for at most the request timeout, naming `op` in errors.
    pub(crate) async fn timed<T>(
        &self,
        op: &impl Fn() -> String,
        fut: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, Error> {
        timed(self.request_timeout, op, fut).await
    }

    /// The key layout.
    pub(crate) fn keys(&self) -> &Keys {
        &self.keys
    }

    /// One cheap read (a count under the prefix), within `timeout`.
    async fn probe(&self, timeout: Duration) -> Result<(), Error> {
        let mut kv = self.client.kv_client();
        let prefix = self.keys.section(Section::Nodes);
        let options = GetOptions::new().with_prefix().with_count_only();
        timed(
            timeout,
            &|| "connect".to_owned(),
            kv.get(prefix, Some(options)),
        )
        .await
        .map(drop)
    }
}

/// The client for `cfg` (connections are made lazily, so this rarely fails).
async fn open_client(cfg: &Config, endpoints: &str) -> Result<Client, Error> {
    let options = cfg.connect_options()?;
    let timeout = cfg.connect_timeout;
    let op = || "connect".to_owned();
    match timed(timeout, &op, Client::connect(&cfg.endpoints, Some(options))).await {
        Ok(client) => Ok(client),
        Err(Error::Etcd {
            source: etcd_client::Error::InvalidUri(e),
            ..
        }) => Err(Error::InvalidUrl {
            value: endpoints.to_owned(),
            reason: e.to_string(),
        }),
        Err(e) => Err(unreachable(endpoints, e)),
    }
}

/// [`Error::Unreachable`] for `endpoints`, saying what happened.
fn unreachable(endpoints: &str, error: Error) -> Error {
    let reason = match error {
        Error::Timeout { after, .. } => format!("no answer within {after:?}"),
        Error::Etcd { source, .. } => source.to_string(),
        other => other.to_string(),
    };
    Error::Unreachable {
        endpoints: endpoints.to_owned(),
        reason,
    }
}

/// Awaits `fut` for at most `after`.
pub(crate) async fn timed<T>(
    after: Duration,
    op: &impl Fn() -> String,
    fut: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, Error> {
    match tokio::time::timeout(after, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Error::etcd(op(), e)),
        Err(_) => Err(Error::Timeout { op: op(), after }),
    }
}

/// The revision in a response header.
pub(crate) fn revision_of(
    header: Option<&ResponseHeader>,
    op: impl Fn() -> String,
) -> Result<i64, Error> {
    header
        .map(ResponseHeader::revision)
        .ok_or_else(|| Error::Malformed {
            op: op(),
            what: "no response header",
        })
}

/// Fails on the first key named twice.
fn check_unique<'a>(keys: impl Iterator<Item = &'a String>) -> Result<(), Error> {
    let mut seen = HashSet::new();
    for key in keys {
        if !seen.insert(key) {
            return Err(Error::DuplicateKey { key: key.clone() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_named_twice_is_refused() {
        let keys = ["a".to_owned(), "b".to_owned(), "a".to_owned()];
        let err = check_unique(keys.iter()).expect_err("duplicate");
        assert!(matches!(err, Error::DuplicateKey { key } if key == "a"));
        assert!(check_unique(keys[..2].iter()).is_ok());
    }
}
