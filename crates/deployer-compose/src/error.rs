//! The compose deployer's errors: each names what was being done, on which
//! node or resource, and what to do about it where there is something to do.

use std::time::Duration;

use scenario_core::{BoxError, NodeId};

/// Why deploying on Docker failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No Docker engine answered; nothing was started.
    #[error(
        "no Docker engine answers at {host}: {reason}; nothing was started (start the engine, or point DOCKER_HOST at one)"
    )]
    EngineUnreachable {
        /// Where the engine was looked for.
        host: String,
        /// What went wrong.
        reason: String,
    },
    /// A node's image is not in the engine; nothing was started.
    #[error(
        "image {image} (for {node}) is not in the Docker engine, and testbed never pulls from a registry; build it first{hint}; nothing was started"
    )]
    ImageMissing {
        /// The image reference.
        image: String,
        /// The first node that needs it.
        node: NodeId,
        /// How to build it, when known (starts with `: `), else empty.
        hint: String,
    },
    /// The launch names no image.
    #[error(
        "the launch of {node} names no image; the compose deployer runs containers (set LaunchSpec::image)"
    )]
    NoImage {
        /// The node.
        node: NodeId,
    },
    /// The node kind could not render a node's launch.
    #[error("could not render the launch of {node}: {source}")]
    RenderFailed {
        /// The node.
        node: NodeId,
        /// The node kind's error.
        #[source]
        source: BoxError,
    },
    /// A call to the engine failed.
    #[error("Docker engine: could not {action}: {source}")]
    Engine {
        /// What was being done, e.g. `create container tb-…-validator-0`.
        action: String,
        /// The engine's error.
        #[source]
        source: bollard::errors::Error,
    },
    /// The run's network has no IPv4 gateway the link proxies could bind to.
    #[error("network {network} has no IPv4 gateway address; link proxies need one")]
    NoGateway {
        /// The network's name.
        network: String,
    },
    /// The engine did not publish a port it was asked to publish.
    #[error("{node}'s container has no published host port for {port}")]
    PortNotPublished {
        /// The node.
        node: NodeId,
        /// The container port, e.g. `8080/tcp`.
        port: String,
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
    /// The container stopped before it was ready.
    #[error(
        "{node}'s container stopped before it was ready ({status}); its last output:\n{last_lines}"
    )]
    ExitedBeforeReady {
        /// The node.
        node: NodeId,
        /// Its exit status as the engine tells it.
        status: String,
        /// The last lines of its log.
        last_lines: String,
    },
    /// The container did not pass its readiness probe in time.
    #[error(
        "{node} was not ready after {waited:.1?}: {probe}; its last output:\n{last_lines}\n(raise the limit with TESTBED_READY_TIMEOUT_SECS)"
    )]
    ReadinessTimedOut {
        /// The node.
        node: NodeId,
        /// How long the deployer waited.
        waited: Duration,
        /// What the probe was waiting for.
        probe: String,
        /// The last lines of its log.
        last_lines: String,
    },
    /// Building an image failed.
    #[error("could not build image {tag}: {reason}")]
    ImageBuild {
        /// The image tag.
        tag: String,
        /// Why.
        reason: String,
    },
}

/// A result with the compose deployer's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Map an I/O error to [`Error::Io`] with what was being done.
pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

/// Map an engine error to [`Error::Engine`] with what was being done.
pub(crate) fn engine(action: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> Error {
    let action = action.into();
    move |source| Error::Engine { action, source }
}
