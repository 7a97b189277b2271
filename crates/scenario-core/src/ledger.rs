//! What workloads did, for expectations to judge: every transaction and blob
//! submitted, with when, where and how it went, and every sample taken of a
//! blob. A workload writes entries to a ledger; an expectation built with
//! the same ledger reads them through a [`LedgerReader`], which it opens
//! before the workloads start. An entry is held until every open reader has
//! read it, so a long run costs memory only for what is not yet read; a
//! ledger nobody reads keeps everything. Cheap to clone.

use std::collections::{BTreeMap, VecDeque};
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
}

/// One thing a workload recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LedgerEntry {
    /// A transaction was submitted.
    Tx(TxRecord),
    /// A blob was dispersed.
    Blob(BlobRecord),
    /// A dispersed blob was sampled: `Ok` when the sample's proof verified,
    /// otherwise why not.
    Sampled {
        /// The blob.
        blob: BlobId,
        /// How it went.
        outcome: Result<(), String>,
    },
}

/// The transactions and blobs of a run.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    inner: Arc<Mutex<Entries>>,
}

#[derive(Debug, Default)]
struct Entries {
    /// Entries not yet read by every reader; the first has number `first`.
    held: VecDeque<LedgerEntry>,
    first: u64,
    /// The next entry number each open reader will read.
    readers: BTreeMap<u64, u64>,
    next_reader: u64,
}

impl Entries {
    fn push(&mut self, entry: LedgerEntry) {
        self.held.push_back(entry);
    }

    /// Drop the entries every reader has read (none while no reader is open).
    fn forget_read(&mut self) {
        let Some(oldest) = self.readers.values().min().copied() else {
            return;
        };
        while self.first < oldest && self.held.pop_front().is_some() {
            self.first += 1;
        }
    }
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
        self.entries().push(LedgerEntry::Tx(record));
    }

    /// Record a dispersed blob.
    pub fn blob(&self, record: BlobRecord) {
        self.entries().push(LedgerEntry::Blob(record));
    }

    /// Record the outcome of sampling `blob`.
    pub fn sampled(&self, blob: &BlobId, outcome: Result<(), String>) {
        self.entries().push(LedgerEntry::Sampled {
            blob: blob.clone(),
            outcome,
        });
    }

    /// A reader starting at the oldest entry still held: the ledger's first
    /// entry, unless other readers have read and released earlier ones.
    pub fn reader(&self) -> LedgerReader {
        let mut entries = self.entries();
        let id = entries.next_reader;
        entries.next_reader += 1;
        let first = entries.first;
        entries.readers.insert(id, first);
        LedgerReader {
            ledger: self.clone(),
            id,
        }
    }
}

/// Reads a ledger's entries in order, each once; see the module docs.
#[derive(Debug)]
pub struct LedgerReader {
    ledger: Ledger,
    id: u64,
}

impl LedgerReader {
    /// The entries recorded since the last read (all held ones, the first
    /// time), oldest first.
    pub fn read(&mut self) -> Vec<LedgerEntry> {
        let mut entries = self.ledger.entries();
        let from = entries.readers.get(&self.id).copied().unwrap_or(0);
        let end = entries.first + entries.held.len() as u64;
        let skip = usize::try_from(from.saturating_sub(entries.first)).unwrap_or(usize::MAX);
        let new: Vec<LedgerEntry> = entries.held.iter().skip(skip).cloned().collect();
        entries.readers.insert(self.id, end);
        entries.forget_read();
        new
    }
}

impl Drop for LedgerReader {
    fn drop(&mut self) {
        let mut entries = self.ledger.entries();
        entries.readers.remove(&self.id);
        entries.forget_read();
    }
}

/// Now, in unix milliseconds.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(n: u64) -> TxRecord {
        TxRecord {
            id: Some(TxId(format!("tx-{n}"))),
            node: NodeId::new("validator-0"),
            submitted_at_ms: n,
            error: None,
        }
    }

    fn held(ledger: &Ledger) -> usize {
        ledger.entries().held.len()
    }

    #[test]
    fn clones_share_an_id_and_other_ledgers_do_not() {
        let ledger = Ledger::new();
        assert_eq!(ledger.id(), ledger.clone().id());
        assert_ne!(ledger.id(), Ledger::new().id());
    }

    #[test]
    fn every_reader_reads_every_entry_once_and_read_entries_are_released() {
        let ledger = Ledger::new();
        ledger.tx(tx(0));
        let (mut fast, mut slow) = (ledger.reader(), ledger.reader());
        ledger.tx(tx(1));
        assert_eq!(
            fast.read(),
            vec![LedgerEntry::Tx(tx(0)), LedgerEntry::Tx(tx(1))]
        );
        assert_eq!(held(&ledger), 2, "the slow reader has read nothing yet");
        ledger.tx(tx(2));
        assert_eq!(slow.read().len(), 3);
        assert_eq!(
            held(&ledger),
            1,
            "only the entry the fast reader hasn't read"
        );
        assert_eq!(fast.read(), vec![LedgerEntry::Tx(tx(2))]);
        assert_eq!(held(&ledger), 0);
        assert!(fast.read().is_empty());
        ledger.tx(tx(3));
        drop(slow);
        assert_eq!(fast.read(), vec![LedgerEntry::Tx(tx(3))]);
        assert_eq!(held(&ledger), 0);
    }

    #[test]
    fn a_ledger_nobody_reads_keeps_everything() {
        let ledger = Ledger::new();
        for n in 0..10 {
            ledger.tx(tx(n));
        }
        drop(ledger.reader());
        assert_eq!(held(&ledger), 10);
        assert_eq!(ledger.reader().read().len(), 10);
    }
}
