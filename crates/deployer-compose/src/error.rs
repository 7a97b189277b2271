//! The compose deployer's errors: each names what was being done, on which
//! node or resource, and what to do about it where there is something to do.

use scenario_core::NodeId;

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
    /// A node's launch could not be planned or its client built.
    #[error(transparent)]
    Plan(#[from] deploykit::plan::PlanError),
    /// A node did not become ready.
    #[error(transparent)]
    NotReady(#[from] deploykit::ready::NotReady),
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
    /// The network plane could not be set up (or a node put on it); the
    /// message names what is missing and the fix.
    #[error("{}{source} (or run on the link-proxy fallback: ComposeDeployer::new().network(NetworkMode::LinkProxies))", .node.as_ref().map(|n| format!("{n}: ")).unwrap_or_default())]
    NetworkPlane {
        /// The node being placed, if any.
        node: Option<NodeId>,
        /// The plane's error.
        #[source]
        source: Box<netplane::Error>,
    },
    /// The namespace of a node's holder container could not be opened.
    #[error(
        "could not open the network namespace of {node}'s holder container at {path}: {source}; the network plane needs the Docker engine on this machine and a runner with root (or run on the link-proxy fallback: ComposeDeployer::new().network(NetworkMode::LinkProxies))"
    )]
    HolderNamespace {
        /// The node.
        node: NodeId,
        /// The `/proc` path tried.
        path: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
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

/// Map a network-plane error to [`Error::NetworkPlane`] for `node`.
pub(crate) fn plane(node: Option<&NodeId>) -> impl Fn(netplane::Error) -> Error + '_ {
    move |source| Error::NetworkPlane {
        node: node.cloned(),
        source: Box::new(source),
    }
}
