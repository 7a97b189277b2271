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
//! Depend on this crate from tests, examples and tools that need a real
//! network to run against; nothing in the framework itself depends on it.
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

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use node_http::NodeHttpClient;
use scenario_core::{
    BoxError, LaunchSpec, NodeClient, NodeEndpoint, NodeKind, NodeView, PortSpec, Readiness, Role,
};

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
    extra_args: Vec<String>,
}

/// Why the demo-node binary could not be found.
#[derive(Debug, thiserror::Error)]
#[error(
    "the demo-node binary was not found (looked at {}); build it with `cargo build -p demo-node` or set {BIN_ENV}",
    .looked_at.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
)]
pub struct BinaryNotFound {
    /// Every place looked at.
    pub looked_at: Vec<PathBuf>,
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
            extra_args: Vec::new(),
        }
    }

    /// Find the binary: `DEMO_NODE_BIN`, else `demo-node` in the Cargo target
    /// directory the running executable was built into (tests, examples and
    /// xtask of this workspace).
    pub fn locate() -> Result<Self, BinaryNotFound> {
        let mut looked_at = Vec::new();
        if let Some(path) = std::env::var_os(BIN_ENV) {
            let path = PathBuf::from(path);
            if path.is_file() {
                return Ok(Self::new(path));
            }
            looked_at.push(path);
        }
        if let Ok(exe) = std::env::current_exe() {
            for dir in exe.ancestors().skip(1).take(3) {
                let candidate = dir.join("demo-node");
                if candidate.is_file() {
                    return Ok(Self::new(candidate));
                }
                looked_at.push(candidate);
            }
        }
        Err(BinaryNotFound { looked_at })
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

    /// Pass an extra flag to every node (e.g. `--mempool-limit=100`).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }
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
        for peer in &node.peers {
            spec = spec.arg(format!(
                "--peer={}={}@{}",
                peer.id,
                role_flag(&peer.role)?,
                peer.address("p2p")?
            ));
        }
        Ok(spec.args(self.extra_args.iter().cloned()))
    }

    fn client(&self, node: &NodeEndpoint) -> Result<Arc<dyn NodeClient>, BoxError> {
        NodeHttpClient::for_node(node, "api")
    }
}
