//! The node's flags (clap) and its config file (serde): the same settings,
//! unvalidated; `config::resolve` checks them and builds the `Config`.

use std::path::PathBuf;

use clap::Parser;
use serde::Deserialize;

/// demo-node: a validator or executor of testbed's reference chain.
///
/// Every flag can also be given in a JSON file passed with --config (same
/// names, with underscores: {"node_id": "validator-0", "block_time_ms": 500,
/// "peers": ["validator-1=validator@127.0.0.1:7001"]}); flags win over the file,
/// and a flag given twice takes its last value.
#[derive(Parser, Debug, Default)]
#[command(name = "demo-node", version, args_override_self = true)]
pub(super) struct Cli {
    /// A JSON config file; flags given on the command line override it.
    #[arg(long)]
    pub(super) config: Option<PathBuf>,
    /// This node's id, e.g. validator-0.
    #[arg(long)]
    pub(super) node_id: Option<String>,
    /// validator or executor.
    #[arg(long)]
    pub(super) role: Option<String>,
    /// Where to serve the node testing API, e.g. 127.0.0.1:8080.
    #[arg(long)]
    pub(super) api_listen: Option<String>,
    /// Where to listen for peers, e.g. 127.0.0.1:9000.
    #[arg(long)]
    pub(super) p2p_listen: Option<String>,
    /// Another node, as id=role@host:port (repeat for each peer).
    #[arg(long = "peer")]
    pub(super) peers: Vec<String>,
    /// Where the node keeps its chain, consensus state and blobs.
    #[arg(long)]
    pub(super) data_dir: Option<PathBuf>,
    /// Time between blocks, in milliseconds (default 500).
    #[arg(long)]
    pub(super) block_time_ms: Option<u64>,
    /// Leader heartbeat interval in milliseconds (default: min(block time, 100)).
    #[arg(long)]
    pub(super) heartbeat_ms: Option<u64>,
    /// Shortest election timeout in milliseconds; each is drawn from [t, 2t) (default 1000).
    #[arg(long)]
    pub(super) election_timeout_ms: Option<u64>,
    /// Most pending transactions and certificates held (default 10000).
    #[arg(long)]
    pub(super) mempool_limit: Option<usize>,
    /// Most transactions per block (default 2000).
    #[arg(long)]
    pub(super) max_block_txs: Option<usize>,
    /// Largest transaction payload in bytes (default 65536).
    #[arg(long)]
    pub(super) max_tx_bytes: Option<usize>,
    /// Largest blob in bytes (default 1048576).
    #[arg(long)]
    pub(super) max_blob_bytes: Option<usize>,
    /// DA chunk size in bytes (default 1024).
    #[arg(long)]
    pub(super) chunk_size: Option<usize>,
    /// How many executors store each blob (default 2, at most the executors present).
    #[arg(long)]
    pub(super) replication: Option<usize>,
    /// Seed of this node's randomness (election timeouts), mixed with --node-id so
    /// that each node draws its own sequence; the same seed replays the same
    /// timeouts (default: from the OS).
    #[arg(long)]
    pub(super) seed: Option<u64>,
    /// Every how many milliseconds to send a UDP heartbeat to each known peer
    /// (default 250). The node also receives them on its --p2p-listen address.
    #[arg(long)]
    pub(super) udp_interval_ms: Option<u64>,
    /// Bytes of padding in every UDP heartbeat (default 0, at most 1200):
    /// more load on each link, to see a bandwidth limit bite.
    #[arg(long)]
    pub(super) udp_padding: Option<usize>,
    /// Learn the peers' addresses at run time from --bootstrap instead of
    /// being given them with --peer; needs --member, --bootstrap and --advertise.
    #[arg(long)]
    pub(super) discover: bool,
    /// With --discover: another member of the network, as id=role (repeat for
    /// each; like a genesis file, without addresses).
    #[arg(long = "member", value_name = "ID=ROLE")]
    pub(super) members: Vec<String>,
    /// With --discover: the p2p address (host:port) of one node to learn the others from.
    #[arg(long)]
    pub(super) bootstrap: Option<String>,
    /// This node's own p2p address as its peers reach it (host:port).
    #[arg(long)]
    pub(super) advertise: Option<String>,
    /// Refuse peers whose member list (every id=role@address) differs from
    /// this node's, and be ready only once a majority agrees; needs --advertise and --peer.
    #[arg(long)]
    pub(super) strict_membership: bool,
    /// TESTS ONLY: plant a bug on purpose (repeatable), so a test can prove its
    /// judges catch it. KIND is one of the following.
    ///
    /// stall-proposals[=H]: as leader, propose no block once the chain is H
    /// blocks high (no H: never propose); heartbeats go on, so no one else takes over.
    ///
    /// drop-txs=P: accept P % of new transactions (every 100/P-th) with 202,
    /// then silently drop them: never pending, forwarded or included.
    ///
    /// fork-at=H: finalize a block of this node's own making at height H in
    /// place of the leader's (a fork); the node cannot follow the chain past it.
    ///
    /// lose-blobs-after=T: delete each stored blob T seconds after the block
    /// certifying it was finalized.
    ///
    /// no-catch-up: after a restart, never apply a block proposed before the
    /// process started, so the blocks missed while down are never synced.
    ///
    /// inflate-height=K: report the height and finalized height K above what
    /// the node has (the blocks there cannot be served).
    ///
    /// delay-proposals=N: as leader, wait N ms more before each proposal.
    #[arg(long = "misbehave", value_name = "KIND")]
    pub(super) misbehave: Vec<String>,
}

/// The config file: the same settings as the flags.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) node_id: Option<String>,
    pub(super) role: Option<String>,
    pub(super) api_listen: Option<String>,
    pub(super) p2p_listen: Option<String>,
    #[serde(default)]
    pub(super) peers: Vec<String>,
    pub(super) data_dir: Option<PathBuf>,
    pub(super) block_time_ms: Option<u64>,
    pub(super) heartbeat_ms: Option<u64>,
    pub(super) election_timeout_ms: Option<u64>,
    pub(super) mempool_limit: Option<usize>,
    pub(super) max_block_txs: Option<usize>,
    pub(super) max_tx_bytes: Option<usize>,
    pub(super) max_blob_bytes: Option<usize>,
    pub(super) chunk_size: Option<usize>,
    pub(super) replication: Option<usize>,
    pub(super) udp_interval_ms: Option<u64>,
    pub(super) udp_padding: Option<usize>,
    #[serde(default)]
    pub(super) discover: bool,
    #[serde(default)]
    pub(super) members: Vec<String>,
    pub(super) bootstrap: Option<String>,
    pub(super) advertise: Option<String>,
    #[serde(default)]
    pub(super) strict_membership: bool,
    pub(super) seed: Option<u64>,
    #[serde(default)]
    pub(super) misbehave: Vec<String>,
}
