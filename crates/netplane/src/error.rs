//! The crate's one error type, each variant named after what failed and
//! naming the node (or block) it failed for.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use scenario_core::NodeId;

use crate::probe::Unavailable;

/// What went wrong in the network plane.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The machine cannot run the plane (see [`crate::probe`]).
    #[error(transparent)]
    Unavailable(Box<Unavailable>),
    /// The lock directory for run subnets could not be used.
    #[error("could not claim a run subnet (lock files in {dir}): {source}")]
    SubnetClaimFailed {
        /// The lock directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Every block of 198.18.0.0/15 is held by a live run.
    #[error("all {blocks} run subnets of 198.18.0.0/15 are held by other live runs")]
    NoFreeSubnet {
        /// How many blocks there are.
        blocks: u32,
    },
    /// The run's subnet has no address left for another node.
    #[error("the run subnet {subnet} has no address left for {node}")]
    SubnetFull {
        /// The subnet.
        subnet: String,
        /// The node that got none.
        node: NodeId,
    },
    /// A node with this id is already on the switch.
    #[error("node {0} is already on the switch")]
    DuplicateNode(NodeId),
    /// No node with this id is on the switch.
    #[error("there is no node {0} on the switch")]
    UnknownNode(NodeId),
    /// Setting up a namespace failed at `step`.
    #[error("could not set up the network namespace of {name} ({step}): {source}")]
    NamespaceSetupFailed {
        /// The node (or `runner`).
        name: String,
        /// What was being done, e.g. `unshare(CLONE_NEWNET)`.
        step: &'static str,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Entering a namespace from a fresh thread failed.
    #[error("could not enter the network namespace of {name}: {source}")]
    EnterFailed {
        /// The node (or `runner`).
        name: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A process could not be started inside a node's namespace.
    #[error("could not start {program} in the network namespace of {name}: {source}")]
    SpawnFailed {
        /// The node.
        name: String,
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A socket could not be made inside a namespace.
    #[error("could not open a socket in the network namespace of {name}: {source}")]
    SocketFailed {
        /// The node (or `runner`).
        name: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The front for a node's port could not be opened.
    #[error("could not open a front on 127.0.0.1 for {node} port {port}: {source}")]
    FrontFailed {
        /// The node.
        node: NodeId,
        /// Its port.
        port: u16,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The switch is shut down.
    #[error("the switch is shut down")]
    SwitchStopped,
    /// A connection to a node through the runner namespace failed.
    #[error("could not connect to {address} from the runner namespace: {source}")]
    ConnectFailed {
        /// Where.
        address: SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
