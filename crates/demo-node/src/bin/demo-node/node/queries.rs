//! The queries the node answers: for the node testing API info, blocks,
//! commits, transaction and blob status, where a blob's bytes are; for peers
//! that pull, committed blocks. Each takes the node's lock briefly and
//! copies out what it needs.

use node_http::wire::{BlobStatusBody, BlockBody, InfoBody, TxStatusBody};
use tokio::sync::watch;

use super::{Node, PULL_BATCH, State, fresh_peers};
use crate::block::Block;

impl Node {
    /// Committed blocks from `from` on, for a peer that pulls.
    pub(crate) fn sync_answer(&self, from: u64) -> crate::p2p::SyncAnswer {
        let state = self.lock();
        let commit = state.consensus.commit();
        let blocks = (from.max(1)..=commit)
            .take(PULL_BATCH)
            .filter_map(|h| state.consensus.block(h).cloned())
            .collect();
        crate::p2p::SyncAnswer {
            blocks,
            commit,
            leader: state.consensus.leader().map(str::to_owned),
        }
    }

    /// Subscribe to the commit height.
    pub(crate) fn commits(&self) -> watch::Receiver<u64> {
        self.commits.subscribe()
    }

    pub(crate) fn info(&self) -> InfoBody {
        let state = self.lock();
        let c = &state.consensus;
        // `--misbehave inflate-height`: claim more than the node has.
        let inflate = self.config.misbehave.inflate_height;
        InfoBody {
            node_id: self.config.node_id.clone(),
            role: self.config.role.as_str().to_owned(),
            height: c.height().saturating_add(inflate),
            tip_hash: c.tip_hash().to_owned(),
            finalized_height: c.commit().saturating_add(inflate),
            peers: fresh_peers(&state),
            leader: c.leader().map(str::to_owned),
            term: c.term(),
        }
    }

    pub(crate) fn block(&self, height: u64) -> Option<BlockBody> {
        let state = self.lock();
        state.consensus.block(height).map(|b| body(&state, b))
    }

    /// Committed blocks from `from` on, at most `max`.
    pub(crate) fn committed_blocks(&self, from: u64, max: usize) -> Vec<BlockBody> {
        let state = self.lock();
        let commit = state.consensus.commit();
        (from.max(1)..=commit)
            .take(max)
            .filter_map(|h| state.consensus.block(h).map(|b| body(&state, b)))
            .collect()
    }

    pub(crate) fn tx_status(&self, id: &str) -> Option<TxStatusBody> {
        let state = self.lock();
        if let Some(height) = state.pool.included_at(id) {
            return Some(TxStatusBody {
                tx_id: id.to_owned(),
                status: "included".to_owned(),
                height: Some(height),
            });
        }
        state.pool.is_pending(id).then(|| TxStatusBody {
            tx_id: id.to_owned(),
            status: "pending".to_owned(),
            height: None,
        })
    }

    pub(crate) fn blob_status(&self, id: &str) -> Option<BlobStatusBody> {
        let state = self.lock();
        state.blobs.get(id).map(|info| BlobStatusBody {
            blob_id: id.to_owned(),
            size: info.size,
            chunk_count: info.chunk_count,
            holders: info.holders.clone(),
            certified_height: info.certified_height,
        })
    }

    /// Where this node keeps a blob's bytes, when it holds it.
    pub(crate) fn blob_file(&self, id: &str) -> Option<std::path::PathBuf> {
        let state = self.lock();
        let holds = state
            .blobs
            .get(id)
            .is_some_and(|b| b.holders.contains(&self.config.node_id));
        holds.then(|| state.store.blob_path(id))
    }
}

fn body(state: &State, block: &Block) -> BlockBody {
    let finalized = block.height <= state.consensus.commit();
    BlockBody {
        height: block.height,
        hash: block.hash.clone(),
        parent: block.parent.clone(),
        proposer: block.proposer.clone(),
        committed_at_ms: if finalized {
            state.commit_times.get(&block.height).copied().unwrap_or(0)
        } else {
            0
        },
        finalized,
        txs: block.txs.clone(),
        blobs: block.certs.iter().map(|c| c.blob_id.clone()).collect(),
    }
}
