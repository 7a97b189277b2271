//! Fault windows, computed once from the timeline's structured fields: when
//! each network fault was active, when each node was down or frozen, and
//! when no quorum of a set of voters could talk. The HTML report, the
//! progress line and expectations such as liveness all read them from here.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::control::{FaultId, NetworkFault};
use crate::timeline::{Event, EventKind, NodeCause};
use crate::topology::NodeId;

/// What was wrong during a [`FaultWindow`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Disruption {
    /// A network fault, from `fault_applied` to its `fault_healed` (or a heal
    /// of every fault).
    Network {
        /// Its id, when the event carried one.
        id: Option<FaultId>,
        /// The fault, when the event carried it.
        fault: Option<NetworkFault>,
    },
    /// A node was down: stopped, killed or exited, until it started again.
    NodeDown {
        /// Which node.
        node: NodeId,
        /// What took it down, when the event said.
        cause: Option<NodeCause>,
    },
    /// A node was frozen, until resumed.
    NodePaused {
        /// Which node.
        node: NodeId,
    },
}

impl fmt::Display for Disruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Network {
                fault: Some(fault), ..
            } => write!(f, "{fault}"),
            Self::Network { id: Some(id), .. } => write!(f, "{id}"),
            Self::Network { .. } => f.write_str("network fault"),
            Self::NodeDown {
                node,
                cause: Some(cause),
            } => write!(f, "{node} down ({cause})"),
            Self::NodeDown { node, cause: None } => write!(f, "{node} down"),
            Self::NodePaused { node } => write!(f, "{node} paused"),
        }
    }
}

/// One stretch of time during which something was wrong.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultWindow {
    /// When it began, in ms since the run started.
    pub from_ms: u64,
    /// When it ended; `None` while it was still active at the last event.
    pub until_ms: Option<u64>,
    /// What was wrong.
    pub disruption: Disruption,
}

impl FaultWindow {
    /// Whether it was still active at the last event.
    pub fn is_active(&self) -> bool {
        self.until_ms.is_none()
    }

    /// Whether it is a network fault.
    pub fn is_network(&self) -> bool {
        matches!(self.disruption, Disruption::Network { .. })
    }

    /// The node that was down or frozen, for node windows.
    pub fn node(&self) -> Option<&NodeId> {
        match &self.disruption {
            Disruption::NodeDown { node, .. } | Disruption::NodePaused { node } => Some(node),
            Disruption::Network { .. } => None,
        }
    }

    /// Whether it cut `node` off from the majority: `node` is on a smaller
    /// side of a partition, or an end of a cut link.
    pub fn cuts_off(&self, node: &NodeId) -> bool {
        let Disruption::Network {
            fault: Some(fault), ..
        } = &self.disruption
        else {
            return false;
        };
        match fault {
            NetworkFault::Partition { groups } => {
                let largest = groups.iter().map(Vec::len).max().unwrap_or(0);
                groups
                    .iter()
                    .any(|group| group.contains(node) && group.len() < largest)
            }
            NetworkFault::Cut { from, to } => from == node || to == node,
            NetworkFault::Shape { .. } => false,
        }
    }

    /// Whether it touches any of `nodes`, as far as the events tell: a node
    /// window for one of them, a partition or cut listing one of them, or a
    /// network fault whose shape the events did not record.
    pub fn touches(&self, nodes: &BTreeSet<NodeId>) -> bool {
        match &self.disruption {
            Disruption::NodeDown { node, .. } | Disruption::NodePaused { node } => {
                nodes.contains(node)
            }
            Disruption::Network { fault: None, .. } => true,
            Disruption::Network {
                fault: Some(fault), ..
            } => match fault {
                NetworkFault::Partition { groups } => {
                    groups.iter().flatten().any(|n| nodes.contains(n))
                }
                NetworkFault::Cut { from, to } | NetworkFault::Shape { from, to, .. } => {
                    nodes.contains(from) || nodes.contains(to)
                }
            },
        }
    }
}

/// Every fault window the events describe, ordered by start time.
///
/// Read from the structured fields only (`kind`, `node`, `fault_id`,
/// `fault`, `cause`), never from `detail`:
/// - `fault_applied` opens a network window; `fault_healed` with a fault id
///   closes that fault's, without one it closes every open network window;
/// - `node_stopped`, `node_killed` and `node_exited` open a node-down
///   window, closed by the node's next `node_started` or `node_restarted`;
///   a `node_restarted` that took time (its `began_ms` before it) is a
///   node-down window of its own, from when it was asked for until done;
/// - `node_paused` opens a paused window, closed by `node_resumed` (or the
///   node starting anew).
///
/// A node window starts when the action was asked for (`began_ms`), where
/// the event says so. A window still open at the last event has
/// `until_ms: None`.
pub fn fault_windows(events: &[Event]) -> Vec<FaultWindow> {
    let mut windows: Vec<FaultWindow> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let close = |windows: &mut Vec<FaultWindow>,
                 open: &mut Vec<usize>,
                 at: u64,
                 hit: &dyn Fn(&FaultWindow) -> bool| {
        open.retain(|&index| {
            let window = &mut windows[index];
            if hit(window) {
                window.until_ms = Some(at);
                false
            } else {
                true
            }
        });
    };
    for event in events {
        let at = event.at_ms;
        let opened = match (event.kind, &event.node) {
            (EventKind::FaultApplied, _) => Some(Disruption::Network {
                id: event.fault_id,
                fault: event.fault.clone(),
            }),
            (EventKind::FaultHealed, _) => {
                let id = event.fault_id;
                let hit = move |w: &FaultWindow| match (&w.disruption, id) {
                    (Disruption::Network { .. }, None) => true,
                    (Disruption::Network { id: Some(open), .. }, Some(id)) => *open == id,
                    _ => false,
                };
                close(&mut windows, &mut open, at, &hit);
                None
            }
            (
                EventKind::NodeStopped | EventKind::NodeKilled | EventKind::NodeExited,
                Some(node),
            ) => {
                let already = open.iter().any(|&i| {
                    matches!(&windows[i].disruption, Disruption::NodeDown { node: n, .. } if n == node)
                });
                (!already).then(|| Disruption::NodeDown {
                    node: node.clone(),
                    cause: event.cause.clone(),
                })
            }
            (EventKind::NodeStarted | EventKind::NodeRestarted, Some(node)) => {
                let hit = |w: &FaultWindow| w.node() == Some(node);
                close(&mut windows, &mut open, at, &hit);
                // A restart that took time was a stretch down of its own.
                if let (EventKind::NodeRestarted, Some(began)) = (event.kind, event.began_ms)
                    && began < at
                {
                    windows.push(FaultWindow {
                        from_ms: began,
                        until_ms: Some(at),
                        disruption: Disruption::NodeDown {
                            node: node.clone(),
                            cause: event.cause.clone(),
                        },
                    });
                }
                None
            }
            (EventKind::NodePaused, Some(node)) => {
                Some(Disruption::NodePaused { node: node.clone() })
            }
            (EventKind::NodeResumed, Some(node)) => {
                let hit = |w: &FaultWindow| matches!(&w.disruption, Disruption::NodePaused { node: n } if n == node);
                close(&mut windows, &mut open, at, &hit);
                None
            }
            _ => None,
        };
        if let Some(disruption) = opened {
            open.push(windows.len());
            windows.push(FaultWindow {
                from_ms: event.began_ms.unwrap_or(at).min(at),
                until_ms: None,
                disruption,
            });
        }
    }
    windows.sort_by_key(|window| window.from_ms);
    windows
}

/// A stretch of time, in ms since the run started; `until_ms: None` when it
/// had not ended by the last event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// When it began.
    pub from_ms: u64,
    /// When it ended, if it did.
    pub until_ms: Option<u64>,
}

/// When no majority of `voters` could talk to each other: too many of them
/// down or frozen, or a partition leaving no group (with the nodes it does
/// not list) holding a majority of those still up. Periods are ordered and
/// do not overlap; windows opening and closing at the same moment count as
/// overlapping, so a fault replaced by another at once leaves no gap.
pub fn no_quorum_periods(windows: &[FaultWindow], voters: &BTreeSet<NodeId>) -> Vec<Period> {
    let quorum = voters.len() / 2 + 1;
    // Every moment something changes: opens sort before closes at one time.
    let mut moments: Vec<(u64, bool)> = windows
        .iter()
        .flat_map(|w| {
            std::iter::once((w.from_ms, false)).chain(w.until_ms.map(|until| (until, true)))
        })
        .collect();
    moments.sort_unstable();
    moments.dedup();
    let mut periods = Vec::new();
    let mut since: Option<u64> = None;
    for (at, closing) in moments {
        let active = windows.iter().filter(|w| {
            w.from_ms <= at
                && w.until_ms
                    .is_none_or(|until| until > at || (until == at && !closing))
        });
        let lost = !has_quorum(active, voters, quorum);
        match (lost, since) {
            (true, None) => since = Some(at),
            (false, Some(from)) => {
                periods.push(Period {
                    from_ms: from,
                    until_ms: Some(at),
                });
                since = None;
            }
            _ => {}
        }
    }
    if let Some(from) = since {
        periods.push(Period {
            from_ms: from,
            until_ms: None,
        });
    }
    periods
}

fn has_quorum<'a>(
    active: impl Iterator<Item = &'a FaultWindow>,
    voters: &BTreeSet<NodeId>,
    quorum: usize,
) -> bool {
    let active: Vec<&FaultWindow> = active.collect();
    let up: BTreeSet<&NodeId> = voters
        .iter()
        .filter(|v| !active.iter().any(|w| w.node() == Some(*v)))
        .collect();
    up.len() >= quorum
        && active.iter().all(|window| match &window.disruption {
            Disruption::Network {
                fault: Some(NetworkFault::Partition { groups }),
                ..
            } => {
                let listed: BTreeSet<&NodeId> = groups.iter().flatten().collect();
                let unlisted = up.iter().filter(|v| !listed.contains(**v)).count();
                groups.iter().any(|group| {
                    group.iter().filter(|v| up.contains(v)).count() + unlisted >= quorum
                })
            }
            _ => true,
        })
}

#[cfg(test)]
mod tests;
