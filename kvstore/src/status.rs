//! [`EtcdStatus`]: what `observe status` shows about the store: the etcd member answering,
//! its version, the leader, the database size and the current revision.

use crate::error::Error;
use crate::store::{Store, revision_of};

/// One etcd member's view of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdStatus {
    /// The endpoints the store was connected with (the member that answered is one of them).
    pub endpoints: String,
    /// The server version, e.g. `3.4.23`.
    pub version: String,
    /// The answering member's id.
    pub member_id: u64,
    /// The leader's member id (0: no leader).
    pub leader: u64,
    /// The backend database size in bytes.
    pub db_size: i64,
    /// The current revision of the key space.
    pub revision: i64,
    /// The raft term.
    pub raft_term: u64,
    /// Errors the member reports (alarms such as `NOSPACE`).
    pub errors: Vec<String>,
}

impl Store {
    /// The status of the etcd member that answers.
    ///
    /// # Errors
    ///
    /// [`Error::Etcd`] / [`Error::Timeout`]; [`Error::Malformed`] without a header.
    pub async fn status(&self) -> Result<EtcdStatus, Error> {
        let mut maintenance = self.client().maintenance_client();
        let op = || "status".to_owned();
        let resp = self.timed(&op, maintenance.status()).await?;
        let header = resp.header();
        Ok(EtcdStatus {
            endpoints: self.endpoints().to_owned(),
            version: resp.version().to_owned(),
            member_id: header.map_or(0, |h| h.member_id()),
            leader: resp.leader(),
            db_size: resp.db_size(),
            revision: revision_of(header, op)?,
            raft_term: resp.raft_term(),
            errors: resp.errors().to_vec(),
        })
    }
}
