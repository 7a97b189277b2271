//! Blocks and blob certificates: what the chain is made of, and how a block
//! is hashed (SHA-256 over its canonical JSON without the hash).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The parent hash of the first block.
pub(crate) const GENESIS_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// Proof that enough executors store a blob: it enters a block once certified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BlobCert {
    pub(crate) blob_id: String,
    pub(crate) size: u64,
    pub(crate) chunk_count: u32,
    pub(crate) holders: Vec<String>,
}

/// One block of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Block {
    pub(crate) height: u64,
    pub(crate) hash: String,
    pub(crate) parent: String,
    /// The consensus term the block was proposed in.
    pub(crate) term: u64,
    pub(crate) proposer: String,
    /// The proposer's clock when it proposed, unix milliseconds.
    pub(crate) proposed_at_ms: u64,
    pub(crate) txs: Vec<String>,
    pub(crate) certs: Vec<BlobCert>,
}

/// The fields a block's hash covers, in a fixed order.
#[derive(Serialize)]
struct Hashed<'a> {
    height: u64,
    parent: &'a str,
    term: u64,
    proposer: &'a str,
    proposed_at_ms: u64,
    txs: &'a [String],
    certs: &'a [BlobCert],
}

impl Block {
    /// A new block on top of `parent_hash`, with its hash computed.
    pub(crate) fn new(
        height: u64,
        parent: String,
        term: u64,
        proposer: String,
        proposed_at_ms: u64,
        txs: Vec<String>,
        certs: Vec<BlobCert>,
    ) -> Self {
        let mut block = Self {
            height,
            hash: String::new(),
            parent,
            term,
            proposer,
            proposed_at_ms,
            txs,
            certs,
        };
        block.hash = block.computed_hash();
        block
    }

    /// The hash the block's contents give.
    pub(crate) fn computed_hash(&self) -> String {
        let hashed = Hashed {
            height: self.height,
            parent: &self.parent,
            term: self.term,
            proposer: &self.proposer,
            proposed_at_ms: self.proposed_at_ms,
            txs: &self.txs,
            certs: &self.certs,
        };
        let bytes = serde_json::to_vec(&hashed).unwrap_or_default();
        hex::encode(Sha256::digest(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_covers_the_contents() {
        let a = Block::new(
            1,
            GENESIS_HASH.to_owned(),
            1,
            "validator-0".to_owned(),
            5,
            vec!["aa".to_owned()],
            vec![],
        );
        assert_eq!(a.hash, a.computed_hash());
        let mut b = a.clone();
        b.txs.push("bb".to_owned());
        assert_ne!(a.hash, b.computed_hash());
    }
}
