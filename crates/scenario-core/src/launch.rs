//! How a node's software is described for any backend: the [`NodeKind`] a
//! node integration implements, the [`LaunchSpec`] it renders for each node,
//! and the views of the resolved cluster it renders from.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::client::NodeClient;
use crate::error::BoxError;
use crate::topology::{NodeId, NodeSlot, Role};

/// The node software under test: how to launch one node and how to talk to it.
///
/// This is the trait a downstream team implements to plug its own node in.
/// It is deliberately small: name the ports, render a [`LaunchSpec`] from a
/// [`NodeView`], and build a client for a running node.
///
/// ```
/// use std::sync::Arc;
/// use scenario_core::prelude::*;
/// use scenario_core::{NodeEndpoint, PeerView};
///
/// struct MyNode;
///
/// impl NodeKind for MyNode {
///     fn name(&self) -> &str { "my-node" }
///     fn ports(&self) -> Vec<PortSpec> {
///         vec![PortSpec::api("api", 8080), PortSpec::peer("p2p", 9000)]
///     }
///     fn render(&self, node: &NodeView) -> Result<LaunchSpec, BoxError> {
///         let mut peers = Vec::new();
///         for peer in &node.peers {
///             peers.push(peer.address("p2p")?.to_string());
///         }
///         Ok(LaunchSpec::program("/usr/local/bin/my-node")
///             .image("my-node:dev")
///             .arg("--listen").arg(node.listen("api")?.to_string())
///             .arg("--p2p").arg(node.listen("p2p")?.to_string())
///             .arg("--peers").arg(peers.join(","))
///             .arg("--data").arg(&node.data_dir)
///             .readiness(Readiness::http("api", "/health")))
///     }
///     fn client(&self, node: &NodeEndpoint) -> Result<Arc<dyn NodeClient>, BoxError> {
///         Err(format!("a real integration returns its client for {}", node.address("api")?).into())
///     }
/// }
/// ```
pub trait NodeKind: Send + Sync + 'static {
    /// A short name for reports and errors, e.g. `demo-node`.
    fn name(&self) -> &str;

    /// The ports every node listens on, by name. API ports are reached by the
    /// runner; peer ports carry node-to-node traffic (and may be routed through
    /// the framework's link proxies for network faults).
    fn ports(&self) -> Vec<PortSpec>;

    /// The launch of one node, rendered from its view of the resolved cluster.
    fn render(&self, node: &NodeView) -> Result<LaunchSpec, BoxError>;

    /// A client for a running node, reached at the given endpoint.
    fn client(&self, node: &NodeEndpoint) -> Result<Arc<dyn NodeClient>, BoxError>;

    /// What the software needs from the backend beyond starting it, e.g.
    /// [`Capability::OneAddressPerNode`](crate::Capability::OneAddressPerNode)
    /// for software that derives member identity from peer addresses or
    /// dials addresses it learned: a deployer without it is refused before
    /// anything starts. Nothing by default.
    fn requires(&self) -> crate::Capabilities {
        crate::Capabilities::none()
    }

    /// Whether its nodes speak testbed's HTTP testing API (true by
    /// default). A kind whose software does not still returns a client
    /// from [`NodeKind::client`], answering
    /// [`ClientError::Unsupported`](crate::ClientError::Unsupported) for
    /// what it cannot read (metrics it may serve); the builder then
    /// refuses a block feed and every workload or expectation that reads
    /// the API ([`Requirements::node_api`](crate::Requirements::node_api)),
    /// so such nodes are judged by their logs and metrics.
    fn testing_api(&self) -> bool {
        true
    }
}

/// A port a node listens on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    /// The port's name (`api`, `p2p`), used in readiness probes and renders.
    pub name: String,
    /// The port inside a container or pod, where the node has its own network.
    /// Local processes get a free port allocated instead.
    pub container_port: u16,
    /// Whether node-to-node traffic uses it (network faults act on these).
    pub peer: bool,
}

impl PortSpec {
    /// A port the runner talks to (never faulted).
    pub fn api(name: impl Into<String>, container_port: u16) -> Self {
        Self {
            name: name.into(),
            container_port,
            peer: false,
        }
    }

    /// A port peers talk to each other on.
    pub fn peer(name: impl Into<String>, container_port: u16) -> Self {
        Self {
            name: name.into(),
            container_port,
            peer: true,
        }
    }
}

/// A host and port as one side of a connection sees it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HostPort {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl HostPort {
    /// A host and a port.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// One node's view of the resolved cluster: what [`NodeKind::render`] gets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeView {
    /// The node itself.
    pub slot: NodeSlot,
    /// Where the node must listen, per port name.
    pub listen: BTreeMap<String, HostPort>,
    /// Its data directory, as the node sees it.
    pub data_dir: String,
    /// Every other node, with addresses as this node reaches them.
    pub peers: Vec<PeerView>,
}

impl NodeView {
    /// The node's id.
    pub fn id(&self) -> &NodeId {
        &self.slot.id
    }

    /// The node's role.
    pub fn role(&self) -> &Role {
        &self.slot.role
    }

    /// Where the node listens on the named port; an error naming the port
    /// and the node when the node kind did not declare it in
    /// [`NodeKind::ports`] (use `?` in [`NodeKind::render`]).
    pub fn listen(&self, port: &str) -> Result<&HostPort, PortNotDeclared> {
        lookup(&self.listen, port, &self.slot.id)
    }

    /// The peers that have `role`.
    pub fn peers_with_role<'a>(&'a self, role: &'a Role) -> impl Iterator<Item = &'a PeerView> {
        self.peers.iter().filter(move |peer| &peer.role == role)
    }
}

/// Another node, as seen from the node being rendered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    /// The peer's id.
    pub id: NodeId,
    /// The peer's role.
    pub role: Role,
    /// Where to reach it, per port name.
    pub addresses: BTreeMap<String, HostPort>,
}

impl PeerView {
    /// Where to reach the peer on the named port; an error naming the port
    /// when the node kind did not declare it in [`NodeKind::ports`].
    pub fn address(&self, port: &str) -> Result<&HostPort, PortNotDeclared> {
        lookup(&self.addresses, port, &self.id)
    }
}

/// A running node as the runner reaches it (for clients and probes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEndpoint {
    /// The node's id.
    pub id: NodeId,
    /// The node's role.
    pub role: Role,
    /// Where the runner reaches it, per port name.
    pub addresses: BTreeMap<String, HostPort>,
}

impl NodeEndpoint {
    /// Where the runner reaches the node on the named port; an error naming
    /// the port when the node kind did not declare it in [`NodeKind::ports`].
    pub fn address(&self, port: &str) -> Result<&HostPort, PortNotDeclared> {
        lookup(&self.addresses, port, &self.id)
    }
}

/// A port name a render or a client asked for that the node kind does not
/// declare in [`NodeKind::ports`] (a typo, usually).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{node}: port '{port}' is not one of the node kind's ports ({})", .declared.join(", "))]
pub struct PortNotDeclared {
    /// The node whose port was asked for.
    pub node: NodeId,
    /// The name asked for.
    pub port: String,
    /// The names the node kind declares.
    pub declared: Vec<String>,
}

fn lookup<'a>(
    ports: &'a BTreeMap<String, HostPort>,
    port: &str,
    node: &NodeId,
) -> Result<&'a HostPort, PortNotDeclared> {
    ports.get(port).ok_or_else(|| PortNotDeclared {
        node: node.clone(),
        port: port.to_owned(),
        declared: ports.keys().cloned().collect(),
    })
}

/// How to know that a node is ready to serve.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Readiness {
    /// An HTTP GET on the named port answers 2xx.
    Http {
        /// The port's name.
        port: String,
        /// The request path, e.g. `/testing/v1/ready`.
        path: String,
    },
    /// A TCP connection to the named port succeeds.
    Tcp {
        /// The port's name.
        port: String,
    },
    /// A line of the node's output contains this text.
    LogLine {
        /// The text to look for.
        contains: String,
    },
}

impl Readiness {
    /// Ready when `GET path` on the named port answers 2xx.
    pub fn http(port: impl Into<String>, path: impl Into<String>) -> Self {
        Self::Http {
            port: port.into(),
            path: path.into(),
        }
    }

    /// Ready when the named port accepts TCP connections.
    pub fn tcp(port: impl Into<String>) -> Self {
        Self::Tcp { port: port.into() }
    }

    /// Ready when the node prints a line containing `text`.
    pub fn log_line(text: impl Into<String>) -> Self {
        Self::LogLine {
            contains: text.into(),
        }
    }
}

/// A file written into the node's data directory before it starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchFile {
    /// Path relative to the data directory.
    pub path: String,
    /// The file's contents.
    pub contents: Vec<u8>,
}

/// Everything a backend needs to start one node.
///
/// A node kind fills in what it can: `program` for local processes, `image`
/// for containers and pods, or both. Per-node overrides from the topology are
/// applied on top by [`LaunchSpec::with_override`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchSpec {
    /// The program to run as a local process.
    pub program: Option<PathBuf>,
    /// The image to run as a container or pod.
    pub image: Option<String>,
    /// Command-line arguments.
    pub args: Vec<String>,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Files written into the data directory before start.
    pub files: Vec<LaunchFile>,
    /// How to know the node is ready.
    pub readiness: Readiness,
}

impl LaunchSpec {
    /// A launch of a local program; readiness defaults to a TCP connect on
    /// the port named `api`.
    pub fn program(program: impl Into<PathBuf>) -> Self {
        Self {
            program: Some(program.into()),
            ..Self::empty()
        }
    }

    /// A launch of a container image; readiness defaults to a TCP connect on
    /// the port named `api`.
    pub fn image_only(image: impl Into<String>) -> Self {
        Self {
            image: Some(image.into()),
            ..Self::empty()
        }
    }

    fn empty() -> Self {
        Self {
            program: None,
            image: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            files: Vec::new(),
            readiness: Readiness::tcp("api"),
        }
    }

    /// Also give the image to use on container backends.
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.image = Some(image.into());
        self
    }

    /// Append one argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Append several arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Set one environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    /// Write a file into the data directory before start.
    pub fn file(mut self, path: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        self.files.push(LaunchFile {
            path: path.into(),
            contents: contents.into(),
        });
        self
    }

    /// Set the readiness probe.
    pub fn readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = readiness;
        self
    }

    /// This launch with one node's overrides applied: program and image
    /// replaced, arguments appended, environment merged.
    pub fn with_override(mut self, change: &crate::NodeOverride) -> Self {
        if let Some(program) = &change.program {
            self.program = Some(program.clone());
        }
        if let Some(image) = &change.image {
            self.image = Some(image.clone());
        }
        self.args.extend(change.args.iter().cloned());
        self.env
            .extend(change.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        self
    }
}

/// What is wrong with a rendered [`LaunchSpec`], found before anything
/// starts by [`LaunchSpec::check`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchProblem {
    /// A launch file's path is absolute or leaves the data directory.
    #[error("launch file {0:?} must be a relative path inside the data directory")]
    FileOutsideDataDir(String),
    /// The readiness probe names a port the node kind does not declare.
    #[error("the readiness probe uses port '{port}', which is not one of the node kind's ports ({})", .declared.join(", "))]
    ReadinessPortNotDeclared {
        /// The port the probe names.
        port: String,
        /// The ports the node kind declares.
        declared: Vec<String>,
    },
    /// The backend runs programs and the launch names none.
    #[error("the launch names no program; this backend runs programs (set LaunchSpec::program)")]
    NoProgram,
    /// The backend runs images and the launch names none.
    #[error("the launch names no image; this backend runs images (set LaunchSpec::image)")]
    NoImage,
}

impl LaunchSpec {
    /// Check what every backend needs of a launch: launch files stay inside
    /// the data directory and the readiness probe uses a declared port.
    pub fn check(&self, ports: &[PortSpec]) -> Result<(), LaunchProblem> {
        for file in &self.files {
            let inside = !file.path.is_empty()
                && Path::new(&file.path)
                    .components()
                    .all(|c| matches!(c, Component::Normal(_)));
            if !inside {
                return Err(LaunchProblem::FileOutsideDataDir(file.path.clone()));
            }
        }
        let probed = match &self.readiness {
            Readiness::Http { port, .. } | Readiness::Tcp { port } => Some(port),
            Readiness::LogLine { .. } => None,
        };
        if let Some(port) = probed
            && !ports.iter().any(|declared| &declared.name == port)
        {
            return Err(LaunchProblem::ReadinessPortNotDeclared {
                port: port.clone(),
                declared: ports.iter().map(|p| p.name.clone()).collect(),
            });
        }
        Ok(())
    }

    /// The program to run, for backends that run programs.
    pub fn require_program(&self) -> Result<&Path, LaunchProblem> {
        self.program.as_deref().ok_or(LaunchProblem::NoProgram)
    }

    /// The image to run, for backends that run images.
    pub fn require_image(&self) -> Result<&str, LaunchProblem> {
        self.image.as_deref().ok_or(LaunchProblem::NoImage)
    }
}

#[cfg(test)]
mod tests;
