//! What makes a chaos schedule invalid for a run: a one-shot fault at or
//! after the end of the window, a `heal_after` with nothing it can undo, a
//! node the run does not have. Checked when the workload initialises, so
//! the run fails naming every problem before any fault is injected.

use std::time::Duration;

use scenario_core::{NodeId, NodeSlot};

use super::plan::Spec;
use super::selector::Selector;

/// One problem with a chaos schedule.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleProblem {
    /// A one-shot fault is due when the window is already closed.
    #[error(
        "\"{action}\" is scheduled {at:?} into the window, but the window is only {window:?} long, so it would never happen"
    )]
    AfterWindow {
        /// The fault.
        action: String,
        /// When it is scheduled.
        at: Duration,
        /// How long the window is.
        window: Duration,
    },
    /// Repeated faults with gaps so short they would fire dozens of times
    /// a second.
    #[error(
        "{what} are at least {min:?} apart; repeated faults need at least {MIN_GAP:?} between them"
    )]
    GapTooShort {
        /// The repeated fault.
        what: String,
        /// The shortest gap asked.
        min: Duration,
    },
    /// A loss probability outside 0 to 1 (0–100 %).
    #[error("{action} asks for a loss of {loss}; a loss is a probability from 0 to 1")]
    LossOutOfRange {
        /// The fault.
        action: String,
        /// The loss asked.
        loss: f64,
    },
    /// `heal_after` was called before any `at`.
    #[error(
        "heal_after({duration:?}) follows no at(…); call it right after the at(…) whose action it undoes"
    )]
    HealAfterWithoutAction {
        /// The duration given.
        duration: Duration,
    },
    /// `down_for` follows no restart.
    #[error(
        "down_for({duration:?}) follows no restart; call it right after restarts(…) or restart_at(…)"
    )]
    DownForWithoutRestart {
        /// The duration given.
        duration: Duration,
    },
    /// `heal_after` was called on an action that cannot be undone.
    #[error(
        "\"{action}\" cannot be undone, so heal_after does not apply to it (network faults, stops, kills and pauses can be)"
    )]
    CannotBeUndone {
        /// The action.
        action: String,
    },
    /// A fault names a node the run does not have.
    #[error("\"{action}\" names {node}, but the run has no such node (the nodes are: {known})")]
    UnknownNode {
        /// The fault.
        action: String,
        /// The node it names.
        node: NodeId,
        /// The nodes of the run.
        known: String,
    },
}

/// The shortest gap between repeated faults a schedule may ask for.
pub(crate) const MIN_GAP: Duration = Duration::from_secs(1);

/// Add the problems of one spec for a run of `window` on `nodes`.
pub(super) fn spec_problems(
    spec: &Spec,
    window: Duration,
    nodes: &[NodeSlot],
    found: &mut Vec<ScheduleProblem>,
) {
    let (action, at, named): (String, Option<Duration>, Vec<&NodeId>) = match spec {
        Spec::At { at, action, .. } => (action.to_string(), Some(*at), action.named_nodes()),
        Spec::Restarts { who, .. } => (format!("restarts of {who}"), None, named(who)),
        Spec::Link { at, .. } => ("a slow, lossy link".to_owned(), Some(*at), Vec::new()),
        Spec::Partition { at, who, .. } => (format!("a partition of {who}"), Some(*at), named(who)),
        Spec::Partitions { who, .. } => (format!("partitions of {who}"), None, named(who)),
    };
    let gap = match spec {
        Spec::Restarts { min, .. } | Spec::Partitions { min, .. } => Some(*min),
        _ => None,
    };
    if let Some(min) = gap.filter(|min| *min < MIN_GAP) {
        found.push(ScheduleProblem::GapTooShort {
            what: action.clone(),
            min,
        });
    }
    let loss = match spec {
        Spec::Link { loss, .. } => Some(*loss),
        Spec::At {
            action: super::ChaosAction::Network(scenario_core::NetworkFault::Shape { shape, .. }),
            ..
        } => Some(shape.loss),
        _ => None,
    };
    if let Some(loss) = loss.filter(|loss| !(0.0..=1.0).contains(loss)) {
        found.push(ScheduleProblem::LossOutOfRange {
            action: action.clone(),
            loss,
        });
    }
    if let Some(at) = at
        && at >= window
    {
        found.push(ScheduleProblem::AfterWindow {
            action: action.clone(),
            at,
            window,
        });
    }
    for node in named {
        if !nodes.iter().any(|slot| &slot.id == node) {
            found.push(ScheduleProblem::UnknownNode {
                action: action.clone(),
                node: node.clone(),
                known: nodes
                    .iter()
                    .map(|slot| slot.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
}

fn named(who: &Selector) -> Vec<&NodeId> {
    who.node().into_iter().collect()
}
