//! The mempool: pending transactions and blob certificates, bounded and
//! deduplicated by id, kept until a committed block includes them (so an item
//! whose block was lost in a leader change is proposed again).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::block::{BlobCert, Block};

/// Something waiting to be included in a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum PoolItem {
    Tx { id: String },
    Cert { cert: BlobCert },
}

impl PoolItem {
    fn key(&self) -> String {
        match self {
            Self::Tx { id } => id.clone(),
            Self::Cert { cert } => format!("cert:{}", cert.blob_id),
        }
    }
}

/// What happened to a submitted item.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// New, now pending.
    Added,
    /// Already pending or included: nothing to do (submission is idempotent).
    Known,
    /// The pool is full.
    Full,
    /// Answered as accepted, but silently dropped (`--misbehave drop-txs`).
    Swallowed,
}

pub(crate) struct Mempool {
    limit: usize,
    pending: VecDeque<PoolItem>,
    keys: HashSet<String>,
    /// Tx ids and cert keys already in a committed block, with its height.
    included: HashMap<String, u64>,
    forwarded_at: HashMap<String, Instant>,
    /// `--misbehave drop-txs=P`: the share of new transactions dropped.
    drop_percent: u64,
    /// New transactions seen, to drop exactly P of every 100.
    new_txs: u64,
    /// The transactions dropped, so that a copy forwarded again is too.
    swallowed: HashSet<String>,
}

impl Mempool {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            pending: VecDeque::new(),
            keys: HashSet::new(),
            included: HashMap::new(),
            forwarded_at: HashMap::new(),
            drop_percent: 0,
            new_txs: 0,
            swallowed: HashSet::new(),
        }
    }

    /// Misbehave: accept, then silently drop, `percent` % of new
    /// transactions (the n-th is dropped when n·P/100 reaches a new whole
    /// number: every 25th for 4 %).
    pub(crate) fn drop_txs(mut self, percent: u64) -> Self {
        self.drop_percent = percent.min(100);
        self
    }

    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    pub(crate) fn admit(&mut self, item: PoolItem) -> Admission {
        let key = item.key();
        if self.keys.contains(&key) || self.included.contains_key(&key) {
            return Admission::Known;
        }
        if self.swallowed.contains(&key) {
            return Admission::Swallowed;
        }
        if self.pending.len() >= self.limit {
            return Admission::Full;
        }
        if self.drop_percent > 0 && matches!(item, PoolItem::Tx { .. }) {
            self.new_txs += 1;
            let n = self.new_txs;
            if n * self.drop_percent / 100 > (n - 1) * self.drop_percent / 100 {
                self.swallowed.insert(key);
                return Admission::Swallowed;
            }
        }
        self.keys.insert(key);
        self.pending.push_back(item);
        Admission::Added
    }

    pub(crate) fn is_pending(&self, tx_id: &str) -> bool {
        self.keys.contains(tx_id)
    }

    pub(crate) fn included_at(&self, tx_id: &str) -> Option<u64> {
        self.included.get(tx_id).copied()
    }

    /// Up to `max` items for a new block, oldest first, skipping those
    /// already in a block above the commit height (`in_flight`).
    pub(crate) fn for_block(
        &self,
        max: usize,
        in_flight: &HashSet<String>,
    ) -> (Vec<String>, Vec<BlobCert>) {
        let mut txs = Vec::new();
        let mut certs = Vec::new();
        for item in self
            .pending
            .iter()
            .filter(|i| !in_flight.contains(&i.key()))
            .take(max)
        {
            match item {
                PoolItem::Tx { id } => txs.push(id.clone()),
                PoolItem::Cert { cert } => certs.push(cert.clone()),
            }
        }
        (txs, certs)
    }

    /// The keys a block carries (to skip them while it is not yet committed).
    pub(crate) fn keys_of(block: &Block) -> impl Iterator<Item = String> + '_ {
        block
            .txs
            .iter()
            .cloned()
            .chain(block.certs.iter().map(|c| format!("cert:{}", c.blob_id)))
    }

    /// A block was committed: its items are no longer pending.
    pub(crate) fn committed(&mut self, block: &Block) {
        for key in Self::keys_of(block) {
            self.keys.remove(&key);
            self.forwarded_at.remove(&key);
            self.included.insert(key, block.height);
        }
        let keys = &self.keys;
        self.pending.retain(|item| keys.contains(&item.key()));
    }

    /// Items to (re)send to the leader: not sent within `every`.
    pub(crate) fn due_for_forward(&mut self, now: Instant, every: Duration) -> Vec<PoolItem> {
        let mut due = Vec::new();
        for item in &self.pending {
            let key = item.key();
            let recent = self
                .forwarded_at
                .get(&key)
                .is_some_and(|at| now < *at + every);
            if !recent {
                self.forwarded_at.insert(key, now);
                due.push(item.clone());
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::GENESIS_HASH;

    fn tx(id: &str) -> PoolItem {
        PoolItem::Tx { id: id.to_owned() }
    }

    #[test]
    fn items_are_deduplicated_bounded_and_released_when_committed() {
        let mut pool = Mempool::new(2);
        assert_eq!(pool.admit(tx("a")), Admission::Added);
        assert_eq!(pool.admit(tx("a")), Admission::Known);
        assert_eq!(pool.admit(tx("b")), Admission::Added);
        assert_eq!(pool.admit(tx("c")), Admission::Full);
        let (txs, _) = pool.for_block(10, &HashSet::from(["a".to_owned()]));
        assert_eq!(txs, ["b"]);
        let block = Block::new(
            1,
            GENESIS_HASH.to_owned(),
            1,
            "v".to_owned(),
            0,
            vec!["a".to_owned()],
            vec![],
        );
        pool.committed(&block);
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.included_at("a"), Some(1));
        assert_eq!(pool.admit(tx("a")), Admission::Known);
        assert_eq!(pool.admit(tx("c")), Admission::Added);
    }

    #[test]
    fn drop_txs_swallows_exactly_its_share_and_keeps_swallowing_a_copy_sent_again() {
        let mut pool = Mempool::new(1000).drop_txs(4);
        let outcomes: Vec<Admission> = (0..100).map(|i| pool.admit(tx(&format!("t{i}")))).collect();
        let swallowed: Vec<usize> = (0..100)
            .filter(|i| outcomes[*i] == Admission::Swallowed)
            .collect();
        assert_eq!(swallowed, [24, 49, 74, 99]);
        assert_eq!(pool.len(), 96);
        assert!(!pool.is_pending("t24"));
        assert_eq!(pool.admit(tx("t24")), Admission::Swallowed);
        let cert = PoolItem::Cert {
            cert: BlobCert {
                blob_id: "b".to_owned(),
                size: 1,
                chunk_count: 1,
                holders: vec![],
            },
        };
        assert_eq!(pool.admit(cert), Admission::Added, "certificates are kept");
    }

    #[test]
    fn forwarding_repeats_only_after_the_interval() {
        let mut pool = Mempool::new(10);
        pool.admit(tx("a"));
        let now = Instant::now();
        assert_eq!(pool.due_for_forward(now, Duration::from_secs(2)).len(), 1);
        assert!(
            pool.due_for_forward(now + Duration::from_secs(1), Duration::from_secs(2))
                .is_empty()
        );
        assert_eq!(
            pool.due_for_forward(now + Duration::from_secs(3), Duration::from_secs(2))
                .len(),
            1
        );
    }
}
