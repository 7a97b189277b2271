//! The run's append-only event timeline: every phase change, fault action and
//! node state change, timestamped from the start of the run.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::topology::NodeId;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A phase began (detail: its name).
    PhaseStarted,
    /// A phase ended (detail: its name and outcome).
    PhaseFinished,
    /// A node was started.
    NodeStarted,
    /// A node was stopped on purpose.
    NodeStopped,
    /// A node was restarted on purpose.
    NodeRestarted,
    /// A node was sent a signal on purpose.
    NodeKilled,
    /// A node was frozen.
    NodePaused,
    /// A frozen node was thawed.
    NodeResumed,
    /// A node exited without a fault action causing it.
    NodeExited,
    /// A node joined the running network.
    NodeJoined,
    /// A network fault was applied.
    FaultApplied,
    /// Network faults were healed.
    FaultHealed,
    /// A fault action failed.
    FaultFailed,
    /// A workload failed or panicked.
    WorkloadFailed,
    /// An expectation failed.
    ExpectationFailed,
    /// The run received Ctrl-C or SIGTERM.
    Interrupted,
    /// The run hit its deadline.
    DeadlineExceeded,
    /// Anything else worth seeing on the time axis.
    Note,
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default();
        f.write_str(&text)
    }
}

/// One entry of the timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Milliseconds since the run started.
    pub at_ms: u64,
    /// What happened.
    pub kind: EventKind,
    /// The node it happened to, if any.
    pub node: Option<NodeId>,
    /// A human sentence with the details.
    pub detail: String,
    /// For network fault events: which fault (to pair applied and healed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_id: Option<crate::control::FaultId>,
    /// For `fault_applied`: the fault itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<crate::control::NetworkFault>,
}

/// The append-only event timeline of one run. Cheap to clone; every clone
/// appends to the same list.
#[derive(Clone, Debug)]
pub struct Timeline {
    started: Instant,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Timeline {
    /// A timeline starting now.
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            events: Arc::default(),
        }
    }

    /// Append an event stamped with the current time.
    pub fn record(&self, kind: EventKind, node: Option<&NodeId>, detail: impl Into<String>) {
        self.push(Event {
            at_ms: self.elapsed_ms(),
            kind,
            node: node.cloned(),
            detail: detail.into(),
            fault_id: None,
            fault: None,
        });
    }

    /// Append a network fault event (applied: with the fault; healed: with
    /// its id, or none when every fault healed).
    pub fn record_fault(
        &self,
        kind: EventKind,
        fault_id: Option<crate::control::FaultId>,
        fault: Option<&crate::control::NetworkFault>,
        detail: impl Into<String>,
    ) {
        self.push(Event {
            at_ms: self.elapsed_ms(),
            kind,
            node: None,
            detail: detail.into(),
            fault_id,
            fault: fault.cloned(),
        });
    }

    fn push(&self, event: Event) {
        tracing::debug!(kind = %event.kind, node = ?event.node, detail = %event.detail, "timeline");
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }

    /// Milliseconds since the run started.
    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// When the run started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// A copy of every event so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_keep_their_order_and_serialise_in_snake_case() {
        let timeline = Timeline::new();
        timeline.record(EventKind::PhaseStarted, None, "deploy");
        timeline.record(
            EventKind::NodeStopped,
            Some(&NodeId::new("validator-1")),
            "stop",
        );
        let events = timeline.events();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].node.as_ref().unwrap(), "validator-1");
        let json = serde_json::to_value(&events[1]).unwrap();
        assert_eq!(json["kind"], "node_stopped");
        assert_eq!(EventKind::NodeStopped.to_string(), "node_stopped");
    }
}
