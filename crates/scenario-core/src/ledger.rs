//! What workloads did, for expectations to judge: every transaction and blob
//! submitted, with when, where and how it went. A workload writes to a
//! ledger; an expectation built with the same ledger reads it. Cheap to clone.

use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::client::{BlobId, TxId};
use crate::topology::NodeId;

/// One submitted transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxRecord {
    /// Its id, when the node accepted it.
    pub id: Option<TxId>,
    /// The node it was sent to.
    pub node: NodeId,
    /// When it was sent, unix milliseconds.
    pub submitted_at_ms: u64,
    /// Why it was refused, when it was.
    pub error: Option<String>,
}

/// One dispersed blob.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRecord {
    /// Its id, when the node accepted it.
    pub id: Option<BlobId>,
    /// The node it was sent to.
    pub node: NodeId,
    /// When it was sent, unix milliseconds.
    pub dispersed_at_ms: u64,
    /// Why it was refused, when it was.
    pub error: Option<String>,
    /// Samples whose proof verified.
    pub samples_verified: u32,
    /// Samples that failed or did not verify, with why.
    pub sample_failures: Vec<String>,
}

/// The transactions and blobs of a run.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    inner: Arc<Mutex<Entries>>,
}

#[derive(Debug, Default)]
struct Entries {
    txs: Vec<TxRecord>,
    blobs: Vec<BlobRecord>,
}

/// Which ledger a workload writes or an expectation reads: the same for
/// every clone of one ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LedgerId(usize);

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// This ledger's identity (shared by its clones).
    pub fn id(&self) -> LedgerId {
        LedgerId(Arc::as_ptr(&self.inner) as usize)
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Record a submitted transaction.
    pub fn tx(&self, record: TxRecord) {
        self.entries().txs.push(record);
    }

    /// Record a dispersed blob; returns its index for later samples.
    pub fn blob(&self, record: BlobRecord) -> usize {
        let mut entries = self.entries();
        entries.blobs.push(record);
        entries.blobs.len() - 1
    }

    /// Record the outcome of sampling blob `index`.
    pub fn sampled(&self, index: usize, outcome: Result<(), String>) {
        if let Some(blob) = self.entries().blobs.get_mut(index) {
            match outcome {
                Ok(()) => blob.samples_verified += 1,
                Err(why) => blob.sample_failures.push(why),
            }
        }
    }

    /// Every transaction so far.
    pub fn txs(&self) -> Vec<TxRecord> {
        self.entries().txs.clone()
    }

    /// Every blob so far.
    pub fn blobs(&self) -> Vec<BlobRecord> {
        self.entries().blobs.clone()
    }
}

/// Now, in unix milliseconds.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod id_tests {
    use super::*;

    #[test]
    fn clones_share_an_id_and_other_ledgers_do_not() {
        let ledger = Ledger::new();
        assert_eq!(ledger.id(), ledger.clone().id());
        assert_ne!(ledger.id(), Ledger::new().id());
    }
}
