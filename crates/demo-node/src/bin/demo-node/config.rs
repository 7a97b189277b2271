//! The node's configuration: command-line flags, optionally on top of a JSON
//! config file (`--config`), validated with errors that name the flag.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;

use crate::misbehave::Misbehaviour;

/// What a node does in the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeRole {
    Validator,
    Executor,
}

impl NodeRole {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "validator" => Some(Self::Validator),
            "executor" => Some(Self::Executor),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Validator => "validator",
            Self::Executor => "executor",
        }
    }
}

/// Another node of the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Peer {
    pub(crate) id: String,
    pub(crate) role: NodeRole,
    /// Its peer-to-peer address, `host:port`.
    pub(crate) address: String,
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) node_id: String,
    pub(crate) role: NodeRole,
    pub(crate) api_listen: SocketAddr,
    pub(crate) p2p_listen: SocketAddr,
    pub(crate) peers: Vec<Peer>,
    pub(crate) data_dir: PathBuf,
    pub(crate) block_time: Duration,
    pub(crate) heartbeat: Duration,
    pub(crate) election_timeout: Duration,
    pub(crate) mempool_limit: usize,
    pub(crate) max_block_txs: usize,
    pub(crate) max_tx_bytes: usize,
    pub(crate) max_blob_bytes: usize,
    pub(crate) chunk_size: usize,
    pub(crate) replication: usize,
    /// Seeds this node's randomness (election timeouts), mixed with its id.
    pub(crate) seed: Option<u64>,
    /// Test-only bugs planted on purpose (`--misbehave`).
    pub(crate) misbehave: Misbehaviour,
}

impl Config {
    /// Every validator's id, this node's included when it is one.
    pub(crate) fn validators(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .peers
            .iter()
            .filter(|p| p.role == NodeRole::Validator)
            .map(|p| p.id.clone())
            .collect();
        if self.role == NodeRole::Validator {
            ids.push(self.node_id.clone());
        }
        ids.sort();
        ids
    }

    /// Every executor's id, this node's included when it is one.
    pub(crate) fn executors(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .peers
            .iter()
            .filter(|p| p.role == NodeRole::Executor)
            .map(|p| p.id.clone())
            .collect();
        if self.role == NodeRole::Executor {
            ids.push(self.node_id.clone());
        }
        ids.sort();
        ids
    }
}

/// demo-node: a validator or executor of testbed's reference chain.
///
/// Every flag can also be given in a JSON file passed with --config (same
/// names, with underscores: {"node_id": "validator-0", "block_time_ms": 500,
/// "peers": ["validator-1=validator@127.0.0.1:7001"]}); flags win over the file,
/// and a flag given twice takes its last value.
#[derive(Parser, Debug, Default)]
#[command(name = "demo-node", version, args_override_self = true)]
struct Cli {
    /// A JSON config file; flags given on the command line override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// This node's id, e.g. validator-0.
    #[arg(long)]
    node_id: Option<String>,
    /// validator or executor.
    #[arg(long)]
    role: Option<String>,
    /// Where to serve the node testing API, e.g. 127.0.0.1:8080.
    #[arg(long)]
    api_listen: Option<String>,
    /// Where to listen for peers, e.g. 127.0.0.1:9000.
    #[arg(long)]
    p2p_listen: Option<String>,
    /// Another node, as id=role@host:port (repeat for each peer).
    #[arg(long = "peer")]
    peers: Vec<String>,
    /// Where the node keeps its chain, consensus state and blobs.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Time between blocks, in milliseconds (default 500).
    #[arg(long)]
    block_time_ms: Option<u64>,
    /// Leader heartbeat interval in milliseconds (default: min(block time, 100)).
    #[arg(long)]
    heartbeat_ms: Option<u64>,
    /// Shortest election timeout in milliseconds; each is drawn from [t, 2t) (default 1000).
    #[arg(long)]
    election_timeout_ms: Option<u64>,
    /// Most pending transactions and certificates held (default 10000).
    #[arg(long)]
    mempool_limit: Option<usize>,
    /// Most transactions per block (default 2000).
    #[arg(long)]
    max_block_txs: Option<usize>,
    /// Largest transaction payload in bytes (default 65536).
    #[arg(long)]
    max_tx_bytes: Option<usize>,
    /// Largest blob in bytes (default 1048576).
    #[arg(long)]
    max_blob_bytes: Option<usize>,
    /// DA chunk size in bytes (default 1024).
    #[arg(long)]
    chunk_size: Option<usize>,
    /// How many executors store each blob (default 2, at most the executors present).
    #[arg(long)]
    replication: Option<usize>,
    /// Seed of this node's randomness (election timeouts), mixed with --node-id so
    /// that each node draws its own sequence; the same seed replays the same
    /// timeouts (default: from the OS).
    #[arg(long)]
    seed: Option<u64>,
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
    misbehave: Vec<String>,
}

/// The config file: the same settings as the flags.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    node_id: Option<String>,
    role: Option<String>,
    api_listen: Option<String>,
    p2p_listen: Option<String>,
    #[serde(default)]
    peers: Vec<String>,
    data_dir: Option<PathBuf>,
    block_time_ms: Option<u64>,
    heartbeat_ms: Option<u64>,
    election_timeout_ms: Option<u64>,
    mempool_limit: Option<usize>,
    max_block_txs: Option<usize>,
    max_tx_bytes: Option<usize>,
    max_blob_bytes: Option<usize>,
    chunk_size: Option<usize>,
    replication: Option<usize>,
    seed: Option<u64>,
    #[serde(default)]
    misbehave: Vec<String>,
}

/// Parse the command line (and the config file it names). Exits with clap's
/// message on a malformed flag; returns a message naming the field otherwise.
pub(crate) fn load() -> Result<Config, String> {
    let cli = Cli::parse();
    let file = match &cli.config {
        None => FileConfig::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--config {}: cannot read it: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("--config {}: {e}", path.display()))?
        }
    };
    resolve(cli, file)
}

fn required<T>(value: Option<T>, flag: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("{flag} is required"))
}

fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    value: T,
    min: T,
    max: T,
    flag: &str,
) -> Result<T, String> {
    if value < min || value > max {
        return Err(format!(
            "{flag} must be between {min} and {max} (got {value})"
        ));
    }
    Ok(value)
}

fn address(text: &str, flag: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        format!("{flag} must be an IP address and port such as 127.0.0.1:8080 (got {text:?})")
    })
}

fn peer(text: &str) -> Result<Peer, String> {
    let invalid = || format!("--peer must look like id=role@host:port (got {text:?})");
    let (id, rest) = text.split_once('=').ok_or_else(invalid)?;
    let (role, address) = rest.split_once('@').ok_or_else(invalid)?;
    let role = NodeRole::parse(role)
        .ok_or_else(|| format!("--peer {text:?}: the role must be validator or executor"))?;
    let port_ok = address
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if id.is_empty() || !port_ok {
        return Err(invalid());
    }
    Ok(Peer {
        id: id.to_owned(),
        role,
        address: address.to_owned(),
    })
}

fn resolve(cli: Cli, file: FileConfig) -> Result<Config, String> {
    let node_id = required(cli.node_id.or(file.node_id), "--node-id")?;
    if node_id.is_empty() || node_id.contains(['=', '@', ' ']) {
        return Err(format!(
            "--node-id must be a non-empty id without '=', '@' or spaces (got {node_id:?})"
        ));
    }
    let role_text = required(cli.role.or(file.role), "--role")?;
    let role = NodeRole::parse(&role_text)
        .ok_or_else(|| format!("--role must be validator or executor (got {role_text:?})"))?;
    let api_listen = address(
        &required(cli.api_listen.or(file.api_listen), "--api-listen")?,
        "--api-listen",
    )?;
    let p2p_listen = address(
        &required(cli.p2p_listen.or(file.p2p_listen), "--p2p-listen")?,
        "--p2p-listen",
    )?;
    let peer_texts = if cli.peers.is_empty() {
        file.peers
    } else {
        cli.peers
    };
    let peers = peer_texts
        .iter()
        .map(|p| peer(p))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(dup) = peers.iter().find(|p| p.id == node_id) {
        return Err(format!("--peer {}: a node cannot be its own peer", dup.id));
    }
    let data_dir = required(cli.data_dir.or(file.data_dir), "--data-dir")?;
    let block_time_ms = in_range(
        cli.block_time_ms.or(file.block_time_ms).unwrap_or(500),
        10,
        60_000,
        "--block-time-ms",
    )?;
    let heartbeat_ms = in_range(
        cli.heartbeat_ms
            .or(file.heartbeat_ms)
            .unwrap_or(block_time_ms.min(100)),
        5,
        10_000,
        "--heartbeat-ms",
    )?;
    let election_timeout_ms = in_range(
        cli.election_timeout_ms
            .or(file.election_timeout_ms)
            .unwrap_or(1000),
        heartbeat_ms * 3,
        120_000,
        "--election-timeout-ms",
    )?;
    let config = Config {
        node_id,
        role,
        api_listen,
        p2p_listen,
        peers,
        data_dir,
        block_time: Duration::from_millis(block_time_ms),
        heartbeat: Duration::from_millis(heartbeat_ms),
        election_timeout: Duration::from_millis(election_timeout_ms),
        mempool_limit: in_range(
            cli.mempool_limit.or(file.mempool_limit).unwrap_or(10_000),
            1,
            10_000_000,
            "--mempool-limit",
        )?,
        max_block_txs: in_range(
            cli.max_block_txs.or(file.max_block_txs).unwrap_or(2000),
            1,
            1_000_000,
            "--max-block-txs",
        )?,
        max_tx_bytes: in_range(
            cli.max_tx_bytes.or(file.max_tx_bytes).unwrap_or(65_536),
            1,
            16 << 20,
            "--max-tx-bytes",
        )?,
        max_blob_bytes: in_range(
            cli.max_blob_bytes
                .or(file.max_blob_bytes)
                .unwrap_or(1 << 20),
            1,
            256 << 20,
            "--max-blob-bytes",
        )?,
        chunk_size: in_range(
            cli.chunk_size.or(file.chunk_size).unwrap_or(1024),
            16,
            1 << 20,
            "--chunk-size",
        )?,
        replication: in_range(
            cli.replication.or(file.replication).unwrap_or(2),
            1,
            64,
            "--replication",
        )?,
        seed: cli.seed.or(file.seed),
        misbehave: Misbehaviour::parse(if cli.misbehave.is_empty() {
            &file.misbehave
        } else {
            &cli.misbehave
        })?,
    };
    if config.validators().is_empty() {
        return Err("--peer: the network needs at least one validator".to_owned());
    }
    Ok(config)
}

#[cfg(test)]
mod tests;
