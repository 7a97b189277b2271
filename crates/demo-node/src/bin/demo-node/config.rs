//! The node's configuration: command-line flags, optionally on top of a JSON
//! config file (`--config`), validated with errors that name the flag.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::misbehave::Misbehaviour;

mod flags;
mod peers;

use flags::{Cli, FileConfig};
use peers::peer_setup;

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
    /// Its peer-to-peer address, `host:port`; `None` with `--discover`
    /// (a `--member`, whose address is learned at run time).
    pub(crate) address: Option<String>,
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
    /// Between two UDP heartbeats to each known peer.
    pub(crate) udp_interval: Duration,
    /// Padding bytes in every heartbeat.
    pub(crate) udp_padding: usize,
    /// `--advertise`: this node's own p2p address as its peers reach it.
    pub(crate) advertise: Option<String>,
    /// `--bootstrap`, given with `--discover`: where to learn the peers from.
    pub(crate) bootstrap: Option<String>,
    /// `--strict-membership`: refuse peers with another member list.
    pub(crate) strict_membership: bool,
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

fn resolve(cli: Cli, file: FileConfig) -> Result<Config, String> {
    let strict_membership = cli.strict_membership || file.strict_membership;
    let (peers, advertise, bootstrap) = peer_setup(&cli, &file, strict_membership)?;
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
    if let Some(dup) = peers.iter().find(|p| p.id == node_id) {
        let flag = if bootstrap.is_some() {
            "--member"
        } else {
            "--peer"
        };
        return Err(format!("{flag} {}: a node cannot be its own peer", dup.id));
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
        udp_interval: Duration::from_millis(in_range(
            cli.udp_interval_ms.or(file.udp_interval_ms).unwrap_or(250),
            10,
            60_000,
            "--udp-interval-ms",
        )?),
        udp_padding: in_range(
            cli.udp_padding.or(file.udp_padding).unwrap_or(0),
            0,
            1200,
            "--udp-padding",
        )?,
        advertise,
        bootstrap,
        strict_membership,
        misbehave: Misbehaviour::parse(if cli.misbehave.is_empty() {
            &file.misbehave
        } else {
            &cli.misbehave
        })?,
    };
    if config.validators().is_empty() {
        let flag = if config.bootstrap.is_some() {
            "--member"
        } else {
            "--peer"
        };
        return Err(format!("{flag}: the network needs at least one validator"));
    }
    Ok(config)
}

#[cfg(test)]
mod tests;
