//! The run's append-only event timeline: every phase change, fault action and
//! node state change, timestamped from the start of the run.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::control::Signal;
use crate::topology::{NodeId, Role};

mod action;

pub use action::NodeAction;

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

/// Why a node changed state: the structured counterpart of a node event's
/// `detail`, which code reads instead of the sentence.
///
/// Serialised as an object tagged by `kind`, e.g.
/// `{"kind": "kill", "signal": "KILL"}` or `{"kind": "exited", "code": 1}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeCause {
    /// The deployer started the node's process or container: while
    /// deploying, or while carrying out a control action.
    Launched,
    /// The run stopped the node through [`NodeControl`](crate::NodeControl).
    Stop,
    /// The run started a stopped node.
    Start,
    /// The run restarted the node.
    Restart,
    /// The run sent the node a signal.
    Kill {
        /// Which signal.
        signal: Signal,
    },
    /// The run froze the node.
    Pause,
    /// The run thawed a frozen node.
    Resume,
    /// The node exited without a control action causing it.
    Exited {
        /// Its exit code, when it exited by itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        /// The number of the signal that ended it, when one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<i32>,
    },
    /// The node joined the running network.
    Joined {
        /// Its role.
        role: Role,
    },
}

impl NodeCause {
    /// Whether the run itself caused this through a control action.
    pub fn is_control_action(&self) -> bool {
        matches!(
            self,
            Self::Stop
                | Self::Start
                | Self::Restart
                | Self::Kill { .. }
                | Self::Pause
                | Self::Resume
        )
    }

    /// The event kind that goes with this cause.
    pub fn kind(&self) -> EventKind {
        match self {
            Self::Launched | Self::Start => EventKind::NodeStarted,
            Self::Stop => EventKind::NodeStopped,
            Self::Restart => EventKind::NodeRestarted,
            Self::Kill { .. } => EventKind::NodeKilled,
            Self::Pause => EventKind::NodePaused,
            Self::Resume => EventKind::NodeResumed,
            Self::Exited { .. } => EventKind::NodeExited,
            Self::Joined { .. } => EventKind::NodeJoined,
        }
    }
}

impl fmt::Display for NodeCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Launched => f.write_str("launched"),
            Self::Stop => f.write_str("stop"),
            Self::Start => f.write_str("start"),
            Self::Restart => f.write_str("restart"),
            Self::Kill { signal } => write!(f, "kill with {signal}"),
            Self::Pause => f.write_str("pause"),
            Self::Resume => f.write_str("resume"),
            Self::Exited { code, signal } => {
                f.write_str("exited")?;
                if let Some(code) = code {
                    write!(f, " with code {code}")?;
                }
                if let Some(signal) = signal {
                    write!(f, " by signal {signal}")?;
                }
                Ok(())
            }
            Self::Joined { role } => write!(f, "joined as {role}"),
        }
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
    /// For node events: why the node changed state. Absent in reports
    /// written before it existed and for events recorded with
    /// [`Timeline::record`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<NodeCause>,
    /// For node actions the run took (stop, kill, restart, pause, ...): when
    /// it was asked for, in ms since the run started. The event is recorded
    /// once the backend is done, which can be seconds later (a pod that
    /// lingers while it terminates); the node may have changed state at any
    /// moment in between, so fault windows start here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub began_ms: Option<u64>,
}

impl Event {
    /// A node event with its structured cause, of the kind that goes with it.
    fn of_node(
        at_ms: u64,
        node: NodeId,
        cause: NodeCause,
        detail: String,
        began_ms: Option<u64>,
    ) -> Self {
        Self {
            at_ms,
            kind: cause.kind(),
            node: Some(node),
            detail,
            fault_id: None,
            fault: None,
            cause: Some(cause),
            began_ms,
        }
    }
}

/// The append-only event timeline of one run. Cheap to clone; every clone
/// appends to the same list.
#[derive(Clone, Debug)]
pub struct Timeline {
    started: Instant,
    events: Arc<Mutex<Vec<Event>>>,
    /// Node actions asked for and not yet done ([`NodeAction`]).
    in_progress: Arc<Mutex<action::InProgress>>,
}

impl Timeline {
    /// A timeline starting now.
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            events: Arc::default(),
            in_progress: Arc::default(),
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
            cause: None,
            began_ms: None,
        });
    }

    /// Append a node event with its structured cause; the event's kind
    /// follows from the cause ([`NodeCause::kind`]).
    pub fn record_node(&self, node: &NodeId, cause: NodeCause, detail: impl Into<String>) {
        self.push(Event::of_node(
            self.elapsed_ms(),
            node.clone(),
            cause,
            detail.into(),
            None,
        ));
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
            cause: None,
            began_ms: None,
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
        assert!(json.get("cause").is_none(), "no cause, no field: {json}");
    }

    #[test]
    fn node_causes_serialise_tagged_and_set_the_kind() {
        let timeline = Timeline::new();
        let node = NodeId::new("validator-2");
        let kill = NodeCause::Kill {
            signal: Signal::Kill,
        };
        timeline.record_node(&node, kill.clone(), "kill with SIGKILL");
        timeline.record_node(
            &node,
            NodeCause::Exited {
                code: Some(3),
                signal: None,
            },
            "exited with 3",
        );
        let events = timeline.events();
        assert_eq!(events[0].kind, EventKind::NodeKilled);
        assert_eq!(events[0].cause.as_ref(), Some(&kill));
        assert_eq!(events[1].kind, EventKind::NodeExited);
        let json = serde_json::to_value(&events).unwrap();
        assert_eq!(
            json[0]["cause"],
            serde_json::json!({"kind": "kill", "signal": "KILL"})
        );
        assert_eq!(
            json[1]["cause"],
            serde_json::json!({"kind": "exited", "code": 3})
        );
        let back: Vec<Event> = serde_json::from_value(json).unwrap();
        assert_eq!(back, events);
    }

    #[test]
    fn an_event_written_before_causes_existed_still_reads() {
        let old =
            r#"{"at_ms": 5, "kind": "node_stopped", "node": "validator-0", "detail": "stop"}"#;
        let event: Event = serde_json::from_str(old).unwrap();
        assert_eq!(event.kind, EventKind::NodeStopped);
        assert_eq!(event.cause, None);
    }
}
