//! Faults a backend can inject: [`NodeControl`] acts on one node,
//! [`NetworkControl`] on the links between nodes. Both are optional; a
//! deployer declares what it supports as [`Capabilities`] and a scenario that
//! needs more is rejected before any node starts.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::BoxError;
use crate::topology::NodeId;

/// Something a deployer can do to a running network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Capability {
    /// Stop, start and restart a node.
    StopStart,
    /// Send a node a signal (e.g. SIGKILL).
    Kill,
    /// Freeze and thaw a node (SIGSTOP / SIGCONT, container pause).
    Pause,
    /// Split the network into groups that cannot reach each other.
    Partition,
    /// Cut one direction of a link while the other still works.
    OneWayCut,
    /// Add latency and jitter to a link.
    LinkLatency,
    /// Drop a share of a link's traffic.
    LinkLoss,
    /// Limit a link's bandwidth.
    LinkBandwidth,
    /// Add a node to a running network.
    DynamicJoin,
    /// Give every node one address that every peer and the runner use, with
    /// network faults enforced on its packets whatever the protocol: what
    /// software needs that derives member identity from addresses, learns
    /// peers at run time, or speaks UDP.
    OneAddressPerNode,
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::StopStart => "stopping and starting nodes",
            Self::Kill => "signalling nodes",
            Self::Pause => "pausing nodes",
            Self::Partition => "network partitions",
            Self::OneWayCut => "one-directional link cuts",
            Self::LinkLatency => "link latency",
            Self::LinkLoss => "link packet loss",
            Self::LinkBandwidth => "link bandwidth limits",
            Self::DynamicJoin => "adding nodes to a running network",
            Self::OneAddressPerNode => {
                "one address per node, with faults on every packet (the network plane)"
            }
        })
    }
}

/// A set of [`Capability`]s.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Capabilities(BTreeSet<Capability>);

impl Capabilities {
    /// No capability.
    pub fn none() -> Self {
        Self::default()
    }

    /// This set plus one capability.
    pub fn with(mut self, capability: Capability) -> Self {
        self.0.insert(capability);
        self
    }

    /// Whether the set holds `capability`.
    pub fn contains(&self, capability: Capability) -> bool {
        self.0.contains(&capability)
    }

    /// Add every capability of `other`.
    pub fn extend(&mut self, other: &Self) {
        self.0.extend(other.0.iter().copied());
    }

    /// What this set needs that `offered` lacks, in a stable order.
    pub fn missing_from(&self, offered: &Self) -> Vec<Capability> {
        self.0.difference(&offered.0).copied().collect()
    }

    /// The capabilities, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = Capability> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Capability> for Capabilities {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// A signal to send a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum Signal {
    /// Ask the node to stop.
    Term,
    /// Kill the node at once.
    Kill,
    /// Interrupt the node (Ctrl-C).
    Int,
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Term => "SIGTERM",
            Self::Kill => "SIGKILL",
            Self::Int => "SIGINT",
        })
    }
}

/// Why a control action failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The node id is not part of the run.
    #[error("there is no node {0} in this run")]
    UnknownNode(NodeId),
    /// The backend cannot do this.
    #[error("this deployer does not support {0}")]
    Unsupported(Capability),
    /// The action was tried and failed.
    #[error("could not {action} {target}: {source}")]
    ActionFailed {
        /// What was tried, e.g. `restart`.
        action: String,
        /// On what (a node id or a link).
        target: String,
        /// Why it failed.
        #[source]
        source: BoxError,
    },
}

/// Acts on one node of a running network.
#[async_trait::async_trait]
pub trait NodeControl: Send + Sync {
    /// Stop the node gracefully, forcing it after the backend's grace period.
    async fn stop(&self, node: &NodeId) -> Result<(), ControlError>;
    /// Start a stopped node with its data intact.
    async fn start(&self, node: &NodeId) -> Result<(), ControlError>;
    /// Stop then start the node.
    async fn restart(&self, node: &NodeId) -> Result<(), ControlError> {
        self.stop(node).await?;
        self.start(node).await
    }
    /// Send the node a signal.
    async fn kill(&self, node: &NodeId, signal: Signal) -> Result<(), ControlError> {
        let _ = (node, signal);
        Err(ControlError::Unsupported(Capability::Kill))
    }
    /// Freeze the node.
    async fn pause(&self, node: &NodeId) -> Result<(), ControlError> {
        let _ = node;
        Err(ControlError::Unsupported(Capability::Pause))
    }
    /// Thaw a frozen node.
    async fn resume(&self, node: &NodeId) -> Result<(), ControlError> {
        let _ = node;
        Err(ControlError::Unsupported(Capability::Pause))
    }
}

/// A node that joined a running network.
#[derive(Clone, Debug)]
pub struct Joined {
    /// The new node.
    pub slot: crate::topology::NodeSlot,
    /// Its client.
    pub client: Arc<dyn crate::client::NodeClient>,
}

/// Adds nodes to a running network (capability `DynamicJoin`).
#[async_trait::async_trait]
pub trait Membership: Send + Sync {
    /// Start one more node of `role`, its peers rendered by the node kind,
    /// and wait until it is ready.
    async fn add_node(&self, role: &crate::topology::Role) -> Result<Joined, ControlError>;
}

/// The shape imposed on one directed link.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkShape {
    /// Added one-way delay.
    pub latency: Duration,
    /// Random extra delay, up to this much.
    pub jitter: Duration,
    /// Share of traffic dropped, from 0.0 to 1.0.
    pub loss: f64,
    /// Bandwidth cap in bytes per second.
    pub bandwidth: Option<u64>,
}

/// A fault on the network between nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NetworkFault {
    /// Nodes in different groups cannot reach each other. Nodes not listed
    /// in any group keep their links.
    Partition {
        /// The groups.
        groups: Vec<Vec<NodeId>>,
    },
    /// Traffic from `from` to `to` is dropped; the other direction still works.
    Cut {
        /// The sending node.
        from: NodeId,
        /// The receiving node.
        to: NodeId,
    },
    /// Traffic from `from` to `to` is delayed, dropped or throttled.
    Shape {
        /// The sending node.
        from: NodeId,
        /// The receiving node.
        to: NodeId,
        /// What to impose.
        shape: LinkShape,
    },
}

impl NetworkFault {
    /// The capabilities a deployer needs to apply this fault.
    pub fn requires(&self) -> Capabilities {
        match self {
            Self::Partition { .. } => Capabilities::none().with(Capability::Partition),
            Self::Cut { .. } => Capabilities::none().with(Capability::OneWayCut),
            Self::Shape { shape, .. } => {
                let mut needs = Capabilities::none();
                if !shape.latency.is_zero() || !shape.jitter.is_zero() {
                    needs = needs.with(Capability::LinkLatency);
                }
                if shape.loss > 0.0 {
                    needs = needs.with(Capability::LinkLoss);
                }
                if shape.bandwidth.is_some() {
                    needs = needs.with(Capability::LinkBandwidth);
                }
                needs
            }
        }
    }
}

impl fmt::Display for NetworkFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Partition { groups } => {
                let groups: Vec<String> = groups
                    .iter()
                    .map(|group| {
                        group
                            .iter()
                            .map(NodeId::as_str)
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .collect();
                write!(f, "partition {}", groups.join(" | "))
            }
            Self::Cut { from, to } => write!(f, "cut {from} -> {to}"),
            Self::Shape { from, to, shape } => write!(
                f,
                "shape {from} -> {to}: latency {:?}, jitter {:?}, loss {}, bandwidth {}",
                shape.latency,
                shape.jitter,
                shape.loss,
                shape
                    .bandwidth
                    .map_or_else(|| "unlimited".to_owned(), |b| format!("{b} B/s")),
            ),
        }
    }
}

/// Identifies one applied network fault, to heal it alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FaultId(pub u64);

impl fmt::Display for FaultId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fault #{}", self.0)
    }
}

/// Acts on the links between nodes of a running network. Faults stack: a
/// link is cut while any active fault cuts it, and shaped by the strongest
/// active shape.
#[async_trait::async_trait]
pub trait NetworkControl: Send + Sync {
    /// Apply a fault on top of those already active.
    async fn apply(&self, fault: &NetworkFault) -> Result<FaultId, ControlError>;
    /// Remove one fault; healing a fault already healed does nothing.
    async fn heal(&self, fault: FaultId) -> Result<(), ControlError>;
    /// Remove every active fault.
    async fn heal_all(&self) -> Result<(), ControlError>;

    /// What a fault did so far, counted on the packets it acted on; `None`
    /// where the mechanism does not count (the report says so).
    fn effect(&self, fault: FaultId) -> Option<FaultEffect> {
        let _ = fault;
        None
    }
}

/// What one network fault did, from the fault engine's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultEffect {
    /// Packets on the links it covers while it was active.
    pub matched_packets: u64,
    /// Their bytes.
    pub matched_bytes: u64,
    /// Packets it dropped.
    pub dropped_packets: u64,
    /// Their bytes.
    pub dropped_bytes: u64,
    /// Packets it held back.
    pub delayed_packets: u64,
    /// Their bytes.
    pub delayed_bytes: u64,
}

impl FaultEffect {
    /// It matched no traffic at all: a fault that did nothing.
    pub fn touched_nothing(&self) -> bool {
        self.matched_packets == 0
    }
}

impl fmt::Display for FaultEffect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "matched {} packets ({} bytes), dropped {}, delayed {}",
            self.matched_packets, self.matched_bytes, self.dropped_packets, self.delayed_packets
        )
    }
}
