//! What a scheduled chaos step does: [`ChaosAction`], one node action
//! ([`NodeAction`] on a [`Selector`]) or one [`NetworkFault`], and what
//! undoing it means.

use std::fmt;

use scenario_core::{
    Capabilities, Capability, ControlError, LinkShape, NetworkFault, NodeControl, NodeId,
    Requirements, Signal,
};
use serde::Serialize;

use super::selector::Selector;

/// Something done to one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeAction {
    /// Stop it gracefully (undone by starting it).
    Stop,
    /// Start it, stopped, with its data intact.
    Start,
    /// Stop then start it.
    Restart,
    /// Send it a signal (undone by starting it).
    Kill(Signal),
    /// Freeze it (undone by resuming it).
    Pause,
    /// Thaw it.
    Resume,
}

impl NodeAction {
    /// What the deployer must be able to do for this action.
    pub fn requires(self) -> Capability {
        match self {
            Self::Stop | Self::Start | Self::Restart => Capability::StopStart,
            Self::Kill(_) => Capability::Kill,
            Self::Pause | Self::Resume => Capability::Pause,
        }
    }

    /// The action that undoes this one, if there is one: a stopped or
    /// killed node is started, a paused one resumed.
    pub fn undo(self) -> Option<Self> {
        match self {
            Self::Stop | Self::Kill(_) => Some(Self::Start),
            Self::Pause => Some(Self::Resume),
            Self::Start | Self::Restart | Self::Resume => None,
        }
    }

    /// Do it to `node`.
    pub(super) async fn perform(
        self,
        control: &dyn NodeControl,
        node: &NodeId,
    ) -> Result<(), ControlError> {
        match self {
            Self::Stop => control.stop(node).await,
            Self::Start => control.start(node).await,
            Self::Restart => control.restart(node).await,
            Self::Kill(signal) => control.kill(node, signal).await,
            Self::Pause => control.pause(node).await,
            Self::Resume => control.resume(node).await,
        }
    }
}

impl fmt::Display for NodeAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stop => f.write_str("stop"),
            Self::Start => f.write_str("start"),
            Self::Restart => f.write_str("restart"),
            Self::Kill(signal) => write!(f, "kill with {signal}"),
            Self::Pause => f.write_str("pause"),
            Self::Resume => f.write_str("resume"),
        }
    }
}

/// One step of a chaos schedule, given to [`Chaos::at`](super::Chaos::at):
/// a node action or a network fault. Build it with the named constructors
/// ([`ChaosAction::stop`], [`ChaosAction::partition`], …) or from a
/// [`NetworkFault`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ChaosAction {
    /// Act on one node, chosen by the selector when the schedule is planned.
    Node {
        /// What to do.
        action: NodeAction,
        /// To which node.
        who: Selector,
    },
    /// Apply a network fault.
    Network(NetworkFault),
}

impl ChaosAction {
    fn node(action: NodeAction, who: impl Into<Selector>) -> Self {
        Self::Node {
            action,
            who: who.into(),
        }
    }

    /// Stop a node (a [`NodeId`], `"validator-1"` or any [`Selector`]).
    pub fn stop(who: impl Into<Selector>) -> Self {
        Self::node(NodeAction::Stop, who)
    }

    /// Start a stopped node.
    pub fn start(who: impl Into<Selector>) -> Self {
        Self::node(NodeAction::Start, who)
    }

    /// Restart a node.
    pub fn restart(who: impl Into<Selector>) -> Self {
        Self::node(NodeAction::Restart, who)
    }

    /// Send a node a signal.
    pub fn kill(who: impl Into<Selector>, signal: Signal) -> Self {
        Self::node(NodeAction::Kill(signal), who)
    }

    /// Freeze a node.
    pub fn pause(who: impl Into<Selector>) -> Self {
        Self::node(NodeAction::Pause, who)
    }

    /// Thaw a frozen node.
    pub fn resume(who: impl Into<Selector>) -> Self {
        Self::node(NodeAction::Resume, who)
    }

    /// Split the network into groups that cannot reach each other; nodes in
    /// no group keep their links.
    pub fn partition<G, N>(groups: impl IntoIterator<Item = G>) -> Self
    where
        G: IntoIterator<Item = N>,
        N: Into<NodeId>,
    {
        Self::Network(NetworkFault::Partition {
            groups: groups
                .into_iter()
                .map(|group| group.into_iter().map(Into::into).collect())
                .collect(),
        })
    }

    /// Drop traffic from `from` to `to`; the other direction still works.
    pub fn cut(from: impl Into<NodeId>, to: impl Into<NodeId>) -> Self {
        Self::Network(NetworkFault::Cut {
            from: from.into(),
            to: to.into(),
        })
    }

    /// Delay, drop or throttle traffic from `from` to `to`.
    pub fn shape(from: impl Into<NodeId>, to: impl Into<NodeId>, shape: LinkShape) -> Self {
        Self::Network(NetworkFault::Shape {
            from: from.into(),
            to: to.into(),
            shape,
        })
    }

    /// Whether [`Chaos::heal_after`](super::Chaos::heal_after) can undo it:
    /// network faults, stops, kills and pauses can; starts, restarts and
    /// resumes cannot.
    pub fn can_be_undone(&self) -> bool {
        match self {
            Self::Node { action, .. } => action.undo().is_some(),
            Self::Network(_) => true,
        }
    }

    /// What the plan and the deployer need for this action and, when
    /// `undone`, for undoing it.
    pub(super) fn requirements(&self, undone: bool) -> Requirements {
        match self {
            Self::Node { action, who } => {
                let mut needs = Requirements::none().capability(action.requires());
                if let Some(undo) = action.undo().filter(|_| undone) {
                    needs = needs.capability(undo.requires());
                }
                match who.role() {
                    Some(role) => needs.role(role.clone()),
                    None => needs,
                }
            }
            Self::Network(fault) => with_capabilities(Requirements::none(), &fault.requires()),
        }
    }

    /// Every node the action names by id.
    pub(super) fn named_nodes(&self) -> Vec<&NodeId> {
        match self {
            Self::Node { who, .. } => who.node().into_iter().collect(),
            Self::Network(NetworkFault::Partition { groups }) => groups.iter().flatten().collect(),
            Self::Network(
                NetworkFault::Cut { from, to } | NetworkFault::Shape { from, to, .. },
            ) => {
                vec![from, to]
            }
            // `NetworkFault` may grow; a new kind names no node we know of.
            Self::Network(_) => Vec::new(),
        }
    }
}

/// `needs` plus every capability of `capabilities`.
pub(super) fn with_capabilities(
    mut needs: Requirements,
    capabilities: &Capabilities,
) -> Requirements {
    for capability in capabilities.iter() {
        needs = needs.capability(capability);
    }
    needs
}

impl From<NetworkFault> for ChaosAction {
    fn from(fault: NetworkFault) -> Self {
        Self::Network(fault)
    }
}

impl fmt::Display for ChaosAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Node { action, who } => write!(f, "{action} {who}"),
            Self::Network(fault) => write!(f, "{fault}"),
        }
    }
}
