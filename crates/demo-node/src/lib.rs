//! demo-node: testbed's reference system under test, and [`DemoNode`], the
//! `NodeKind` that launches it.
//!
//! The `demo-node` binary is a small real chain: validators run leader-based
//! crash-fault-tolerant consensus (Raft-style elections and quorum commit,
//! where every log entry is a hash-chained block), executors follow the
//! finalized chain and store data-availability blobs, every node keeps its
//! state under its data directory and serves testbed's node testing API.
//! A partition that leaves no quorum halts finalization; healing resumes it;
//! a restarted or lagging node catches up to the same hashes.
//!
//! The nodes also behave like real chains the network plane must handle:
//! each sends UDP heartbeats to its peers on its p2p address (always on),
//! [`DemoNode::discovery`] makes them learn each other's addresses at run
//! time from one bootstrap node (libp2p/discv5-style), and
//! [`DemoNode::strict_membership`] makes them refuse peers configured with
//! other addresses (etcd-style). Both need one address per node
//! ([`NodeKind::requires`] says so).
//!
//! Depend on this crate from tests, examples and tools that need a real
//! network to run against; nothing in the framework itself depends on it.
//!
//! For the framework's own tests, demo-node can also misbehave on purpose
//! ([`DemoNode::misbehave`], [`Misbehaviour`]): one node stalls, drops
//! transactions, forks, loses blobs, never catches up, lies about its
//! height or proposes late, so a test can prove that a judge catches it.
//!
//! ```no_run
//! use std::time::Duration;
//! use demo_node::DemoNode;
//! use scenario_core::prelude::*;
//!
//! # fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let node = DemoNode::locate()?.block_time(Duration::from_millis(200));
//! let plan = Scenario::builder("smoke")
//!     .topology(Topology::new().validators(4).executors(1))
//!     .node_kind(node)
//!     .window(Duration::from_secs(30))
//!     .build()?;
//! # Ok(())
//! # }
//! ```

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use node_http::NodeHttpClient;
use scenario_core::{
    BoxError, Capabilities, Capability, LaunchSpec, NodeClient, NodeEndpoint, NodeId, NodeKind,
    NodeView, PeerView, PortSpec, Readiness, Role,
};

mod misbehaviour;

pub use misbehaviour::Misbehaviour;

/// The environment variable that points at a `demo-node` binary.
pub const BIN_ENV: &str = "DEMO_NODE_BIN";

/// The image name the container backends use unless told otherwise.
pub const DEFAULT_IMAGE: &str = "testbed/demo-node:dev";

/// The container port of the node testing API.
pub const API_PORT: u16 = 8080;

/// The container port of peer traffic.
pub const P2P_PORT: u16 = 9000;

/// How to launch demo-node: the binary or image, and the chain's settings.
#[derive(Clone, Debug)]
pub struct DemoNode {
    program: PathBuf,
    image: String,
    block_time: Duration,
    election_timeout: Option<Duration>,
    replication: usize,
    seed: Option<u64>,
    misbehaviours: Vec<(NodeId, Misbehaviour)>,
    extra_args: Vec<String>,
    discovery: bool,
    strict_membership: bool,
}

/// Why the demo-node binary could not be found. Its `Display` (and its
/// `Debug`, which `unwrap()` and `main` print) names the fixes: point
/// [`BIN_ENV`] at a binary, or build or install one.
#[derive(thiserror::Error)]
#[error("{}", self.message())]
pub struct BinaryNotFound {
    /// Every file looked at, in order (`PATH` was searched as well).
    pub looked_at: Vec<PathBuf>,
    /// What [`BIN_ENV`] was set to, when it was set to something that is not
    /// a file.
    pub from_env: Option<PathBuf>,
}

impl BinaryNotFound {
    fn message(&self) -> String {
        let looked_at = self
            .looked_at
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let mut message =
            format!("the demo-node binary was not found (looked at {looked_at}, and on PATH)");
        if let Some(value) = &self.from_env {
            message.push_str(&format!(
                "; {BIN_ENV} is set to {}, which is not a file",
                value.display()
            ));
        }
        message.push_str(&format!(
            ". Set {BIN_ENV} to the binary's path, after building it from the testbed \
             workspace with `cargo build -p demo-node` (it is then \
             target/debug/demo-node there), or install it on PATH with \
             `cargo install --path crates/demo-node` from the testbed workspace"
        ));
        message
    }
}

impl fmt::Debug for BinaryNotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl DemoNode {
    /// Launch the binary at `program`.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            image: DEFAULT_IMAGE.to_owned(),
            block_time: Duration::from_millis(500),
            election_timeout: None,
            replication: 2,
            seed: None,
            misbehaviours: Vec::new(),
            extra_args: Vec::new(),
            discovery: false,
            strict_membership: false,
        }
    }

    /// Find the binary: [`BIN_ENV`] (`DEMO_NODE_BIN`), else `demo-node` in
    /// the Cargo target directory the running executable was built into
    /// (tests, examples and xtask of this workspace), else `demo-node` on
    /// `PATH` (`cargo install --path crates/demo-node`). The error names
    /// every place looked at and how to fix it.
    pub fn locate() -> Result<Self, BinaryNotFound> {
        let (exe, path) = (std::env::current_exe().ok(), std::env::var_os("PATH"));
        locate_in(std::env::var_os(BIN_ENV), exe.as_deref(), path.as_deref())
    }

    /// The binary launched.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Use this image on container backends.
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.image = image.into();
        self
    }

    /// Time between blocks (default 500 ms).
    pub fn block_time(mut self, block_time: Duration) -> Self {
        self.block_time = block_time;
        self
    }

    /// Shortest election timeout (default: the node's, 1 s).
    pub fn election_timeout(mut self, timeout: Duration) -> Self {
        self.election_timeout = Some(timeout);
        self
    }

    /// How many executors store each blob (default 2).
    pub fn replication(mut self, replication: usize) -> Self {
        self.replication = replication;
        self
    }

    /// Seed every node's own randomness (its election timeouts) with `seed`
    /// (`--seed`; each node mixes in its id, so each draws its own
    /// sequence). A `NodeKind` is not told the scenario's seed, so pass the
    /// same one here to replay a run's elections as far as timing allows.
    /// Default: each node seeds from the OS.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Make `node` misbehave on purpose (tests only; repeat for several
    /// switches or nodes). A node that is not in the network is an error
    /// when the nodes are rendered, before anything starts.
    pub fn misbehave(mut self, node: impl Into<NodeId>, misbehaviour: Misbehaviour) -> Self {
        self.misbehaviours.push((node.into(), misbehaviour));
        self
    }

    /// Let the nodes learn each other's addresses at run time, as
    /// libp2p/discv5 nodes do: each is told the members (`--member=id=role`,
    /// no addresses), its own address (`--advertise`, its p2p listen
    /// address) and one node to start from (`--bootstrap`: validator-0's p2p
    /// address, or validator-1's for validator-0), and no `--peer`. The
    /// network then needs [`Capability::OneAddressPerNode`]: what a node
    /// advertises must reach it from every peer.
    pub fn discovery(mut self) -> Self {
        self.discovery = true;
        self
    }

    /// Run etcd-style strict membership: every node derives a cluster
    /// fingerprint from every member's `id=role@address` (its own from
    /// `--advertise`) and refuses peers whose fingerprint differs; a node is
    /// ready only once a majority of members showed it the same one
    /// (`--strict-membership`). Needs [`Capability::OneAddressPerNode`]:
    /// with per-viewer addresses the members never agree.
    pub fn strict_membership(mut self) -> Self {
        self.strict_membership = true;
        self
    }

    /// Pass an extra flag to every node (e.g. `--mempool-limit=100`).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }
}

/// [`DemoNode::locate`] with the environment passed in: the value of
/// [`BIN_ENV`], the running executable and `PATH`.
fn locate_in(
    from_env: Option<OsString>,
    exe: Option<&Path>,
    path: Option<&OsStr>,
) -> Result<DemoNode, BinaryNotFound> {
    let mut looked_at = Vec::new();
    let mut not_a_file = None;
    if let Some(value) = from_env {
        let value = PathBuf::from(value);
        if value.is_file() {
            return Ok(DemoNode::new(value));
        }
        looked_at.push(value.clone());
        not_a_file = Some(value);
    }
    if let Some(exe) = exe {
        for dir in exe.ancestors().skip(1).take(3) {
            let candidate = dir.join("demo-node");
            if candidate.is_file() {
                return Ok(DemoNode::new(candidate));
            }
            looked_at.push(candidate);
        }
    }
    if let Some(found) = path
        .into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("demo-node"))
        .find(|candidate| candidate.is_file())
    {
        return Ok(DemoNode::new(found));
    }
    Err(BinaryNotFound {
        looked_at,
        from_env: not_a_file,
    })
}

fn role_flag(role: &Role) -> Result<&'static str, BoxError> {
    match role {
        Role::Validator => Ok("validator"),
        Role::Executor => Ok("executor"),
        Role::Custom(other) => {
            Err(format!("demo-node has validators and executors only, not '{other}'").into())
        }
    }
}

impl NodeKind for DemoNode {
    fn name(&self) -> &str {
        "demo-node"
    }

    fn ports(&self) -> Vec<PortSpec> {
        vec![
            PortSpec::api("api", API_PORT),
            PortSpec::peer("p2p", P2P_PORT),
        ]
    }

    fn render(&self, node: &NodeView) -> Result<LaunchSpec, BoxError> {
        let mut spec = LaunchSpec::program(&self.program)
            .image(&self.image)
            .arg(format!("--node-id={}", node.id()))
            .arg(format!("--role={}", role_flag(node.role())?))
            .arg(format!("--api-listen={}", node.listen("api")?))
            .arg(format!("--p2p-listen={}", node.listen("p2p")?))
            .arg(format!("--data-dir={}", node.data_dir))
            .arg(format!("--block-time-ms={}", self.block_time.as_millis()))
            .arg(format!("--replication={}", self.replication))
            .readiness(Readiness::http("api", node_http::wire::READY));
        if let Some(timeout) = self.election_timeout {
            spec = spec.arg(format!("--election-timeout-ms={}", timeout.as_millis()));
        }
        if self.discovery {
            spec = spec
                .arg("--discover")
                .arg(format!("--advertise={}", node.listen("p2p")?))
                .arg(format!("--bootstrap={}", bootstrap(node)?));
            for peer in &node.peers {
                spec = spec.arg(format!("--member={}={}", peer.id, role_flag(&peer.role)?));
            }
        } else {
            if self.strict_membership {
                spec = spec
                    .arg("--strict-membership")
                    .arg(format!("--advertise={}", node.listen("p2p")?));
            }
            for peer in &node.peers {
                spec = spec.arg(format!(
                    "--peer={}={}@{}",
                    peer.id,
                    role_flag(&peer.role)?,
                    peer.address("p2p")?
                ));
            }
        }
        if let Some(seed) = self.seed {
            spec = spec.arg(format!("--seed={seed}"));
        }
        for (target, misbehaviour) in &self.misbehaviours {
            if target == node.id() {
                spec = spec.arg(format!("--misbehave={misbehaviour}"));
            } else if node.peers.iter().all(|p| &p.id != target) {
                return Err(format!(
                    "DemoNode::misbehave names {target}, which is not a node of this network"
                )
                .into());
            }
        }
        Ok(spec.args(self.extra_args.iter().cloned()))
    }

    fn client(&self, node: &NodeEndpoint) -> Result<Arc<dyn NodeClient>, BoxError> {
        NodeHttpClient::for_node(node, "api")
    }

    fn requires(&self) -> Capabilities {
        if self.discovery || self.strict_membership {
            Capabilities::none().with(Capability::OneAddressPerNode)
        } else {
            Capabilities::none()
        }
    }
}

/// The p2p address a discovering node starts from: the first validator
/// among its peers in index order (validator-0, or validator-1 for
/// validator-0), else the first peer; a lone node starts from itself.
fn bootstrap(node: &NodeView) -> Result<String, BoxError> {
    let index = |peer: &PeerView| {
        let number = peer.id.as_str().rsplit('-').next();
        number
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(u64::MAX)
    };
    let first = node
        .peers
        .iter()
        .min_by_key(|peer| (peer.role != Role::Validator, index(peer), peer.id.clone()));
    match first {
        Some(peer) => Ok(peer.address("p2p")?.to_string()),
        None => Ok(node.listen("p2p")?.to_string()),
    }
}

#[cfg(test)]
mod tests;
