//! Control handles that record every node action and network fault on the
//! run's timeline before handing it to the backend, so faults are visible
//! whichever deployer ran them.

use std::future::Future;
use std::sync::Arc;

use crate::control::{ControlError, FaultId, NetworkControl, NetworkFault, NodeControl, Signal};
use crate::timeline::{EventKind, NodeCause, Timeline};
use crate::topology::NodeId;

/// Actions that take at least this long say how long in their event.
const SAID_FROM_MS: u64 = 1_000;

/// A [`NodeControl`] that records every action on the run's timeline before
/// and after delegating, so faults are visible whichever backend ran them.
pub(crate) struct RecordedNodeControl {
    pub(crate) inner: Arc<dyn NodeControl>,
    pub(crate) timeline: Timeline,
}

impl RecordedNodeControl {
    async fn recorded<F>(&self, node: &NodeId, cause: NodeCause, run: F) -> Result<(), ControlError>
    where
        F: Future<Output = Result<(), ControlError>> + Send,
    {
        let action = self.timeline.begin_node_action(node, cause.clone());
        let result = run.await;
        match &result {
            Ok(()) => {
                let took_ms = self.timeline.elapsed_ms().saturating_sub(action.began_ms());
                action.done(if took_ms >= SAID_FROM_MS {
                    format!("{cause} (took {:.1} s)", took_ms as f64 / 1000.0)
                } else {
                    cause.to_string()
                });
            }
            Err(error) => self.timeline.record(
                EventKind::FaultFailed,
                Some(node),
                format!("{cause} failed: {error}"),
            ),
        }
        result
    }
}

#[async_trait::async_trait]
impl NodeControl for RecordedNodeControl {
    async fn stop(&self, node: &NodeId) -> Result<(), ControlError> {
        self.recorded(node, NodeCause::Stop, self.inner.stop(node))
            .await
    }
    async fn start(&self, node: &NodeId) -> Result<(), ControlError> {
        self.recorded(node, NodeCause::Start, self.inner.start(node))
            .await
    }
    async fn restart(&self, node: &NodeId) -> Result<(), ControlError> {
        self.recorded(node, NodeCause::Restart, self.inner.restart(node))
            .await
    }
    async fn kill(&self, node: &NodeId, signal: Signal) -> Result<(), ControlError> {
        let run = self.inner.kill(node, signal);
        self.recorded(node, NodeCause::Kill { signal }, run).await
    }
    async fn pause(&self, node: &NodeId) -> Result<(), ControlError> {
        self.recorded(node, NodeCause::Pause, self.inner.pause(node))
            .await
    }
    async fn resume(&self, node: &NodeId) -> Result<(), ControlError> {
        self.recorded(node, NodeCause::Resume, self.inner.resume(node))
            .await
    }
}

/// A [`NetworkControl`] that records every fault and heal on the timeline.
pub(crate) struct RecordedNetworkControl {
    pub(crate) inner: Arc<dyn NetworkControl>,
    pub(crate) timeline: Timeline,
    /// Every fault applied, with when (ms into the run).
    pub(crate) applied: std::sync::Mutex<Vec<(FaultId, NetworkFault, u64)>>,
}

impl RecordedNetworkControl {
    pub(crate) fn new(inner: Arc<dyn NetworkControl>, timeline: Timeline) -> Self {
        Self {
            inner,
            timeline,
            applied: std::sync::Mutex::default(),
        }
    }

    /// Every fault applied so far with what it did (asked of the backend
    /// now, so before cleanup tears the network down).
    pub(crate) fn fault_records(&self) -> Vec<crate::report::FaultRecord> {
        let applied = self
            .applied
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        applied
            .into_iter()
            .map(|(id, fault, applied_at_ms)| {
                let effect = self.inner.effect(id);
                crate::report::FaultRecord {
                    id,
                    untouched: effect.is_some_and(|e| e.touched_nothing()),
                    fault,
                    applied_at_ms,
                    effect,
                }
            })
            .collect()
    }

    fn record_failure(&self, what: &str, error: &ControlError) {
        let detail = format!("{what} failed: {error}");
        self.timeline.record(EventKind::FaultFailed, None, detail);
    }
}

#[async_trait::async_trait]
impl NetworkControl for RecordedNetworkControl {
    async fn apply(&self, fault: &NetworkFault) -> Result<FaultId, ControlError> {
        let result = self.inner.apply(fault).await;
        match &result {
            Ok(id) => {
                self.applied
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((*id, fault.clone(), self.timeline.elapsed_ms()));
                self.timeline.record_fault(
                    EventKind::FaultApplied,
                    Some(*id),
                    Some(fault),
                    format!("{id}: {fault}"),
                );
            }
            Err(error) => self.record_failure(&fault.to_string(), error),
        }
        result
    }

    async fn heal(&self, fault: FaultId) -> Result<(), ControlError> {
        let result = self.inner.heal(fault).await;
        match &result {
            Ok(()) => {
                let did = self
                    .inner
                    .effect(fault)
                    .map_or_else(String::new, |effect| format!(": it {effect}"));
                self.timeline.record_fault(
                    EventKind::FaultHealed,
                    Some(fault),
                    None,
                    format!("{fault} healed{did}"),
                );
            }
            Err(error) => self.record_failure(&format!("healing {fault}"), error),
        }
        result
    }

    fn effect(&self, fault: FaultId) -> Option<crate::control::FaultEffect> {
        self.inner.effect(fault)
    }

    async fn heal_all(&self) -> Result<(), ControlError> {
        let result = self.inner.heal_all().await;
        match &result {
            Ok(()) => self.timeline.record_fault(
                EventKind::FaultHealed,
                None,
                None,
                "every network fault healed",
            ),
            Err(error) => self.record_failure("healing every fault", error),
        }
        result
    }
}
