//! Async access to one running node: [`NodeClient`] and the chain types it
//! returns. Operations a node does not offer answer [`ClientError::Unsupported`],
//! so a node without data availability still works.

use std::fmt;
use std::time::Duration;

use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::error::BoxError;
use crate::topology::{NodeId, Role};

/// A transaction id, as the node names it (hex text).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TxId(pub String);

/// A data-availability blob id, as the node names it (hex text).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BlobId(pub String);

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a node says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's id, as it was configured.
    pub node_id: NodeId,
    /// Its role.
    pub role: Role,
    /// Height of its tip.
    pub height: u64,
    /// Hash of its tip (hex).
    pub tip_hash: String,
    /// Height of its last finalized block.
    pub finalized_height: u64,
    /// The peers it is connected to.
    pub peers: Vec<NodeId>,
    /// The leader it currently follows, when the protocol has one and it
    /// knows it.
    pub leader: Option<NodeId>,
}

/// A block as a node reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// Its height.
    pub height: u64,
    /// Its hash (hex).
    pub hash: String,
    /// Its parent's hash (hex).
    pub parent: String,
    /// The node that proposed it.
    pub proposer: NodeId,
    /// When the reporting node committed it, in unix milliseconds by its clock.
    pub committed_at_ms: u64,
    /// Whether the reporting node considers it final.
    pub finalized: bool,
    /// The transactions it carries.
    pub txs: Vec<TxId>,
    /// The certified blobs it carries.
    pub blobs: Vec<BlobId>,
}

/// One sampled chunk of a blob with its inclusion proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobSample {
    /// The blob sampled.
    pub blob: BlobId,
    /// The chunk's index.
    pub index: u32,
    /// How many chunks the blob has.
    pub chunk_count: u32,
    /// The chunk's bytes.
    pub chunk: Vec<u8>,
    /// The blob's commitment the proof is checked against (hex).
    pub commitment: String,
    /// The proof: sibling hashes from the chunk up to the commitment (hex).
    pub proof: Vec<String>,
}

/// Why a call to a node failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The node does not offer this operation.
    #[error("{node} does not support {operation}")]
    Unsupported {
        /// The node asked.
        node: NodeId,
        /// The operation, e.g. `disperse_blob`.
        operation: &'static str,
    },
    /// What was asked for does not exist (e.g. a height above the tip).
    #[error("{node} has no {what}")]
    NotFound {
        /// The node asked.
        node: NodeId,
        /// What was missing, e.g. `block at height 12`.
        what: String,
    },
    /// The node refused the request as invalid.
    #[error("{node} rejected the request: {reason}")]
    Rejected {
        /// The node asked.
        node: NodeId,
        /// The node's reason.
        reason: String,
    },
    /// The node is overloaded (e.g. its mempool is full); try again later.
    #[error("{node} is overloaded{}", .retry_after.map(|d| format!(", retry after {d:?}")).unwrap_or_default())]
    Overloaded {
        /// The node asked.
        node: NodeId,
        /// When the node suggests trying again.
        retry_after: Option<Duration>,
    },
    /// The node could not be reached or did not answer in time.
    #[error("{node} is unavailable: {source}")]
    Unavailable {
        /// The node asked.
        node: NodeId,
        /// The transport error.
        #[source]
        source: BoxError,
    },
    /// The node answered something the client could not understand.
    #[error("{node} answered unexpectedly: {detail}")]
    Protocol {
        /// The node asked.
        node: NodeId,
        /// What was wrong with the answer.
        detail: String,
    },
}

/// A live stream of blocks from one node.
pub type BlockStream = BoxStream<'static, Result<Block, ClientError>>;

/// Async access to one node.
///
/// Only [`info`](NodeClient::info) and [`block`](NodeClient::block) are
/// required; everything else answers [`ClientError::Unsupported`] unless the
/// node offers it. Implementations are cheap to clone behind an `Arc`.
#[async_trait::async_trait]
pub trait NodeClient: Send + Sync + fmt::Debug {
    /// The node this client talks to.
    fn node(&self) -> &NodeId;

    /// The node's view of itself and its chain.
    async fn info(&self) -> Result<NodeInfo, ClientError>;

    /// The block at `height` on the node's chain.
    async fn block(&self, height: u64) -> Result<Block, ClientError>;

    /// Blocks from `from` on, then live as the node commits them.
    async fn block_stream(&self, from: u64) -> Result<BlockStream, ClientError> {
        let _ = from;
        Err(self.unsupported("block_stream"))
    }

    /// Submit a transaction; returns its id.
    async fn submit_tx(&self, tx: &[u8]) -> Result<TxId, ClientError> {
        let _ = tx;
        Err(self.unsupported("submit_tx"))
    }

    /// Disperse a data-availability blob; returns its id.
    async fn disperse_blob(&self, data: &[u8]) -> Result<BlobId, ClientError> {
        let _ = data;
        Err(self.unsupported("disperse_blob"))
    }

    /// Sample chunk `index` of a blob, with its proof.
    async fn sample_blob(&self, blob: &BlobId, index: u32) -> Result<BlobSample, ClientError> {
        let _ = (blob, index);
        Err(self.unsupported("sample_blob"))
    }

    /// The node's Prometheus metrics, as text.
    async fn metrics(&self) -> Result<String, ClientError> {
        Err(self.unsupported("metrics"))
    }

    /// The error for an operation this node does not offer.
    fn unsupported(&self, operation: &'static str) -> ClientError {
        ClientError::Unsupported {
            node: self.node().clone(),
            operation,
        }
    }
}
