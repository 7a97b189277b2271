//! The routes and JSON bodies of the node testing API, version 1.
//!
//! Every route lives under [`PREFIX`] except the Prometheus metrics at
//! [`METRICS`]. Errors answer a JSON [`ErrorBody`] with the status codes
//! listed on each route in the guide's "Node testing API" chapter.

use serde::{Deserialize, Serialize};

/// The version of the contract these types describe.
pub const API_VERSION: u32 = 1;

/// The prefix of every versioned route.
pub const PREFIX: &str = "/testing/v1";

/// `GET`: 200 while the process is up.
pub const LIVE: &str = "/testing/v1/live";
/// `GET`: 200 once the node serves its API and its peers; 503 before.
pub const READY: &str = "/testing/v1/ready";
/// `GET`: [`InfoBody`].
pub const INFO: &str = "/testing/v1/info";
/// `GET /testing/v1/blocks/{height}`: [`BlockBody`]; 404 above the tip.
pub const BLOCK: &str = "/testing/v1/blocks/{height}";
/// `GET /testing/v1/subscribe/blocks?from=H`: NDJSON, one [`BlockBody`] per
/// line, every finalized block from `H` on, then live.
pub const SUBSCRIBE_BLOCKS: &str = "/testing/v1/subscribe/blocks";
/// `POST` a [`SubmitTxBody`]: 202 [`TxAccepted`].
pub const TXS: &str = "/testing/v1/txs";
/// `GET /testing/v1/txs/{id}`: [`TxStatusBody`].
pub const TX: &str = "/testing/v1/txs/{id}";
/// `POST` raw blob bytes (`application/octet-stream`): 202 [`BlobAccepted`].
pub const BLOBS: &str = "/testing/v1/blobs";
/// `GET /testing/v1/blobs/{id}`: [`BlobStatusBody`].
pub const BLOB: &str = "/testing/v1/blobs/{id}";
/// `GET /testing/v1/blobs/{id}/samples/{index}`: [`SampleBody`].
pub const SAMPLE: &str = "/testing/v1/blobs/{id}/samples/{index}";
/// `GET`: Prometheus text exposition.
pub const METRICS: &str = "/metrics";

/// Every route, as `(method, path)`, in the order the guide documents them.
pub const ROUTES: [(&str, &str); 12] = [
    ("GET", LIVE),
    ("GET", READY),
    ("GET", INFO),
    ("GET", BLOCK),
    ("GET", SUBSCRIBE_BLOCKS),
    ("POST", TXS),
    ("GET", TX),
    ("POST", BLOBS),
    ("GET", BLOB),
    ("GET", SAMPLE),
    ("GET", METRICS),
    ("GET", "/testing/v1"),
];

/// The response of [`LIVE`] and [`READY`] when they succeed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusBody {
    /// `live` or `ready`.
    pub status: String,
}

/// The response of `GET /testing/v1`: which contract version the node speaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionBody {
    /// [`API_VERSION`].
    pub api_version: u32,
    /// The node software's name and version, free text.
    pub software: String,
}

/// What a node says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoBody {
    /// The node's id.
    pub node_id: String,
    /// Its role (`validator`, `executor`, or a custom one).
    pub role: String,
    /// Height of its tip (0 before the first block).
    pub height: u64,
    /// Hash of its tip, hex (64 zeros before the first block).
    pub tip_hash: String,
    /// Height of its last finalized block.
    pub finalized_height: u64,
    /// Ids of the peers it currently exchanges messages with.
    pub peers: Vec<String>,
    /// The leader it currently follows, if it knows one.
    pub leader: Option<String>,
    /// Its current consensus term (or epoch), if the protocol has one.
    pub term: u64,
}

/// A block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockBody {
    /// Its height, from 1.
    pub height: u64,
    /// Its hash, hex.
    pub hash: String,
    /// Its parent's hash, hex (64 zeros for height 1).
    pub parent: String,
    /// The id of the node that proposed it.
    pub proposer: String,
    /// When the answering node committed it, unix milliseconds by its own
    /// clock; 0 while not yet committed.
    pub committed_at_ms: u64,
    /// Whether the answering node considers it final.
    pub finalized: bool,
    /// The ids of the transactions it carries, hex.
    pub txs: Vec<String>,
    /// The ids of the blobs certified in it, hex.
    pub blobs: Vec<String>,
}

/// The body of `POST` [`TXS`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitTxBody {
    /// The transaction's bytes, hex. Non-empty.
    pub payload: String,
}

/// The answer to an accepted transaction (also when it was already known:
/// submission is idempotent, the id is the SHA-256 of the payload).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxAccepted {
    /// The transaction's id, hex.
    pub tx_id: String,
}

/// Where a transaction is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxStatusBody {
    /// The transaction's id, hex.
    pub tx_id: String,
    /// `pending` (in a mempool) or `included` (in a block of this node).
    pub status: String,
    /// The height of the block that includes it.
    pub height: Option<u64>,
}

/// The answer to an accepted blob (also when it was already known).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobAccepted {
    /// The blob's id: its commitment, hex.
    pub blob_id: String,
    /// Its size in bytes.
    pub size: u64,
    /// How many chunks it was cut into.
    pub chunk_count: u32,
}

/// Where a blob is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobStatusBody {
    /// The blob's id: its commitment, hex.
    pub blob_id: String,
    /// Its size in bytes.
    pub size: u64,
    /// How many chunks it was cut into.
    pub chunk_count: u32,
    /// The nodes known to store it.
    pub holders: Vec<String>,
    /// The height of the block that certified it, once one did.
    pub certified_height: Option<u64>,
}

/// One chunk of a blob with its proof against the commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleBody {
    /// The blob's id: its commitment, hex.
    pub blob_id: String,
    /// The chunk's index.
    pub index: u32,
    /// How many chunks the blob has.
    pub chunk_count: u32,
    /// The chunk, hex.
    pub chunk: String,
    /// Sibling hashes from the chunk's leaf to the root, hex (see [`crate::merkle`]).
    pub proof: Vec<String>,
}

/// Every error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable machine-readable code: `bad_request`, `not_found`,
    /// `payload_too_large`, `mempool_full`, `not_ready`, `unavailable`,
    /// `internal`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

impl ErrorBody {
    /// An error body.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.to_owned(),
                message: message.into(),
            },
        }
    }
}

/// The id of a transaction or blob payload: SHA-256, hex.
pub fn content_id(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
