//! Node actions while a backend carries them out. A stop can take seconds
//! (a pod that lingers while it terminates) and its event is recorded once
//! it is done, but the node may be gone from the moment it was asked for:
//! judges that place what they see as it happens read
//! [`Timeline::live_events`], where an action under way already shows as
//! the event it will be recorded as.

use std::collections::BTreeMap;
use std::sync::PoisonError;

use super::{Event, EventKind, NodeCause, Timeline};
use crate::topology::NodeId;

/// The actions under way, by number.
#[derive(Debug, Default)]
pub(super) struct InProgress {
    next: u64,
    actions: BTreeMap<u64, (NodeId, NodeCause, u64)>,
}

/// A node action asked for and not yet done: [`NodeAction::done`] records
/// its event (with `began_ms`); dropped without it (the action failed), it
/// leaves no trace on the timeline.
#[derive(Debug)]
#[must_use = "an action is recorded by `done`"]
pub struct NodeAction {
    timeline: Timeline,
    number: u64,
    began_ms: u64,
}

impl Timeline {
    /// A node action begins now; see [`NodeAction`].
    pub fn begin_node_action(&self, node: &NodeId, cause: NodeCause) -> NodeAction {
        let began_ms = self.elapsed_ms();
        let mut in_progress = self
            .in_progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let number = in_progress.next;
        in_progress.next += 1;
        in_progress
            .actions
            .insert(number, (node.clone(), cause, began_ms));
        NodeAction {
            timeline: self.clone(),
            number,
            began_ms,
        }
    }

    /// Every event so far, then each action under way that takes its node
    /// down or freezes it (stop, kill, restart, pause) as the event it will
    /// be recorded as, stamped now and with its `began_ms`; a restart under
    /// way shows as a stop. Starts and resumes under way are left out: the
    /// node is not back until they are done.
    pub fn live_events(&self) -> Vec<Event> {
        let in_progress = self
            .in_progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut events = self.events();
        let now = self.elapsed_ms();
        for (node, cause, began_ms) in in_progress.actions.values() {
            let kind = match cause {
                NodeCause::Restart => EventKind::NodeStopped,
                NodeCause::Stop | NodeCause::Kill { .. } | NodeCause::Pause => cause.kind(),
                _ => continue,
            };
            let detail = format!("{cause} under way");
            events.push(Event {
                kind,
                ..Event::of_node(now, node.clone(), cause.clone(), detail, Some(*began_ms))
            });
        }
        events
    }
}

impl NodeAction {
    /// When the action was asked for, in ms since the run started.
    pub fn began_ms(&self) -> u64 {
        self.began_ms
    }

    /// The action is done: record its event, stamped now, with `detail`.
    pub fn done(self, detail: impl Into<String>) {
        // Under the lock `live_events` takes, so a reader sees the action
        // either under way or done, never both or neither.
        let mut in_progress = self
            .timeline
            .in_progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some((node, cause, began_ms)) = in_progress.actions.remove(&self.number) else {
            return;
        };
        let at_ms = self.timeline.elapsed_ms();
        let event = Event::of_node(at_ms, node, cause, detail.into(), Some(began_ms));
        self.timeline.push(event);
        drop(in_progress);
    }
}

impl Drop for NodeAction {
    fn drop(&mut self) {
        self.timeline
            .in_progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .actions
            .remove(&self.number);
    }
}

#[cfg(test)]
mod tests;
