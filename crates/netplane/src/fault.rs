//! The fault vocabulary of the plane: [`Fault`] (the core's
//! [`NetworkFault`] plus per-node forms), the [`Peer`] a directed rule names,
//! and what every fault did, [`FaultCounters`] in a [`FaultReport`].

use std::fmt;

use scenario_core::{Capability, ControlError, FaultId, LinkShape, NetworkFault, NodeId};
use serde::{Deserialize, Serialize};

/// One end of a directed rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Peer {
    /// This node.
    Node(NodeId),
    /// Every node of the run, including nodes that join later (never the
    /// runner, whose traffic is never faulted).
    Any,
}

impl Peer {
    pub(crate) fn matches(&self, node: &NodeId) -> bool {
        match self {
            Self::Node(id) => id == node,
            Self::Any => true,
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Node(id) => write!(f, "{id}"),
            Self::Any => f.write_str("*"),
        }
    }
}

impl From<NodeId> for Peer {
    fn from(node: NodeId) -> Self {
        Self::Node(node)
    }
}

/// A fault the plane enforces on packets, by source and destination node,
/// for every protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Nodes in different groups cannot reach each other; nodes in no group
    /// keep their links.
    Partition {
        /// The groups.
        groups: Vec<Vec<NodeId>>,
    },
    /// The node can reach no other node and no other node can reach it.
    Isolate {
        /// The isolated node.
        node: NodeId,
    },
    /// Packets from `from` to `to` are dropped.
    Cut {
        /// Sender(s).
        from: Peer,
        /// Receiver(s).
        to: Peer,
    },
    /// Packets from `from` to `to` are delayed, dropped or throttled.
    Shape {
        /// Sender(s).
        from: Peer,
        /// Receiver(s).
        to: Peer,
        /// What to impose on each matching directed link.
        shape: LinkShape,
    },
}

impl Fault {
    /// The plane's form of a core fault.
    pub fn from_network(fault: &NetworkFault) -> Result<Self, ControlError> {
        Ok(match fault {
            NetworkFault::Partition { groups } => Self::Partition {
                groups: groups.clone(),
            },
            NetworkFault::Cut { from, to } => Self::Cut {
                from: Peer::Node(from.clone()),
                to: Peer::Node(to.clone()),
            },
            NetworkFault::Shape { from, to, shape } => Self::Shape {
                from: Peer::Node(from.clone()),
                to: Peer::Node(to.clone()),
                shape: shape.clone(),
            },
            _ => return Err(ControlError::Unsupported(Capability::Partition)),
        })
    }

    /// Every node the fault names (not `Peer::Any`).
    pub(crate) fn named_nodes(&self) -> Vec<&NodeId> {
        fn peer(peer: &Peer) -> Option<&NodeId> {
            match peer {
                Peer::Node(id) => Some(id),
                Peer::Any => None,
            }
        }
        match self {
            Self::Partition { groups } => groups.iter().flatten().collect(),
            Self::Isolate { node } => vec![node],
            Self::Cut { from, to } | Self::Shape { from, to, .. } => {
                peer(from).into_iter().chain(peer(to)).collect()
            }
        }
    }

    /// Whether the fault acts on the directed link `from → to`.
    pub(crate) fn covers(&self, from: &NodeId, to: &NodeId) -> bool {
        if from == to {
            return false;
        }
        match self {
            // As the link proxies did: cut if `from` is in one group and `to`
            // in another (a node listed twice is cut from both).
            Self::Partition { groups } => groups.iter().enumerate().any(|(i, a)| {
                a.contains(from)
                    && groups
                        .iter()
                        .enumerate()
                        .any(|(j, b)| i != j && b.contains(to))
            }),
            Self::Isolate { node } => from == node || to == node,
            Self::Cut { from: a, to: b } | Self::Shape { from: a, to: b, .. } => {
                a.matches(from) && b.matches(to)
            }
        }
    }

    /// The shape it imposes, if it is a shape.
    pub(crate) fn shape(&self) -> Option<&LinkShape> {
        match self {
            Self::Shape { shape, .. } => Some(shape),
            _ => None,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Partition { groups } => {
                let groups: Vec<String> = groups
                    .iter()
                    .map(|g| g.iter().map(NodeId::as_str).collect::<Vec<_>>().join(","))
                    .collect();
                write!(f, "partition {}", groups.join(" | "))
            }
            Self::Isolate { node } => write!(f, "isolate {node}"),
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

/// What one fault did to the packets it matched: the core's
/// [`FaultEffect`](scenario_core::FaultEffect), which the runner puts in the
/// report. A packet on a link that several faults cover counts for each of
/// them; a drop or a delay counts for the faults whose part of the shape
/// caused it (every cutting fault for a cut, the faults holding the
/// strongest loss, rate or delay).
pub use scenario_core::FaultEffect as FaultCounters;

/// Count one packet of `bytes` the fault matched.
pub(crate) fn matched(counters: &mut FaultCounters, bytes: u64) {
    counters.matched_packets += 1;
    counters.matched_bytes += bytes;
}

/// Count one packet of `bytes` the fault dropped.
pub(crate) fn dropped(counters: &mut FaultCounters, bytes: u64) {
    counters.dropped_packets += 1;
    counters.dropped_bytes += bytes;
}

/// Count one packet of `bytes` the fault held back.
pub(crate) fn delayed(counters: &mut FaultCounters, bytes: u64) {
    counters.delayed_packets += 1;
    counters.delayed_bytes += bytes;
}

/// One fault, applied at some point in the run, with what it did so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultReport {
    /// Its id.
    pub id: FaultId,
    /// The fault.
    pub fault: Fault,
    /// Whether it is still in force (not healed).
    pub active: bool,
    /// What it did.
    pub counters: FaultCounters,
}
