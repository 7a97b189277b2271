//! The local deployer's errors: each names the node and the step that failed.

use std::path::PathBuf;

use scenario_core::NodeId;

/// Why deploying on local processes failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A node's launch could not be planned or its client built.
    #[error(transparent)]
    Plan(#[from] deploykit::plan::PlanError),
    /// A node did not become ready.
    #[error(transparent)]
    NotReady(#[from] deploykit::ready::NotReady),
    /// The program does not exist or cannot be executed.
    #[error("{node}'s program {} {problem}; nothing was started", .program.display())]
    ProgramUnusable {
        /// The node.
        node: NodeId,
        /// The program's path.
        program: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The network plane could not be set up (or a node put on it); the
    /// message names what is missing and the fix.
    #[error("{}{source} (or run on the link-proxy fallback: LocalDeployer::new().network(NetworkMode::LinkProxies))", .node.as_ref().map(|n| format!("{n}: ")).unwrap_or_default())]
    NetworkPlane {
        /// The node being placed, if any.
        node: Option<NodeId>,
        /// The plane's error.
        #[source]
        source: Box<netplane::Error>,
    },
    /// No private loopback address could be claimed for the run.
    #[error("could not claim a private loopback address for the run: {0}")]
    LoopbackUnavailable(#[source] std::io::Error),
    /// Ports could not be bound on the run's address.
    #[error("could not allocate ports on {ip}: {source}")]
    PortsUnavailable {
        /// The run's loopback address.
        ip: std::net::Ipv4Addr,
        /// The bind error.
        #[source]
        source: std::io::Error,
    },
    /// A file or directory of the run could not be written.
    #[error("could not {what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The process could not be started.
    #[error("could not start {node} ({}): {source}", .program.display())]
    SpawnFailed {
        /// The node.
        node: NodeId,
        /// The program.
        program: PathBuf,
        /// The spawn error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}
