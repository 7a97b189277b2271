//! The local deployer's errors: each names the node and the step that failed.

use std::path::PathBuf;
use std::time::Duration;

use scenario_core::{BoxError, NodeId};

/// Why deploying on local processes failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The node kind could not render a node's launch.
    #[error("could not render the launch of {node}: {source}")]
    RenderFailed {
        /// The node.
        node: NodeId,
        /// The node kind's error.
        #[source]
        source: BoxError,
    },
    /// The launch names no program.
    #[error(
        "the launch of {node} names no program; the local deployer runs programs (set LaunchSpec::program)"
    )]
    NoProgram {
        /// The node.
        node: NodeId,
    },
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
    /// The node exited before it became ready.
    #[error("{node} exited with {status} before it was ready; its last output:\n{last_lines}")]
    ExitedBeforeReady {
        /// The node.
        node: NodeId,
        /// How it exited.
        status: String,
        /// The end of its log.
        last_lines: String,
    },
    /// The node did not become ready in time.
    #[error("{node} was not ready after {waited:?} ({probe}); its last output:\n{last_lines}")]
    ReadinessTimedOut {
        /// The node.
        node: NodeId,
        /// How long the deployer waited.
        waited: Duration,
        /// The probe that never succeeded.
        probe: String,
        /// The end of its log.
        last_lines: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}
