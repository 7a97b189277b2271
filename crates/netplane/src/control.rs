//! Faults on the switch: applied and healed through [`Switch`] directly
//! (with the plane's per-node forms) or through [`SwitchControl`], the
//! core's `NetworkControl`; both read what each fault did.

use std::sync::{Arc, Weak};

use scenario_core::{ControlError, FaultId, NetworkControl, NetworkFault};

use crate::fault::{Fault, FaultCounters, FaultReport};
use crate::switch::{Shared, Switch};

impl Switch {
    /// Apply a fault on top of the active ones.
    pub fn apply(&self, fault: Fault) -> Result<FaultId, ControlError> {
        self.shared.with_engine(|engine| engine.apply(fault))
    }

    /// Heal one fault (its counters stay readable).
    pub fn heal(&self, fault: FaultId) {
        self.shared.with_engine(|engine| engine.heal(fault));
    }

    /// Heal every fault.
    pub fn heal_all(&self) {
        self.shared.with_engine(super::engine::Engine::heal_all);
    }

    /// What one fault did so far.
    pub fn fault_counters(&self, fault: FaultId) -> Option<FaultCounters> {
        self.fault_report(fault).map(|report| report.counters)
    }

    /// One fault, whether it is active, and what it did so far.
    pub fn fault_report(&self, fault: FaultId) -> Option<FaultReport> {
        self.shared.with_engine(|engine| engine.report(fault))
    }

    /// Every fault applied so far, in order.
    pub fn fault_reports(&self) -> Vec<FaultReport> {
        self.shared.with_engine(|engine| engine.reports())
    }

    /// The faults that matched no packet at all (to flag in a report).
    pub fn untouched_faults(&self) -> Vec<FaultReport> {
        let mut reports = self.fault_reports();
        reports.retain(|report| report.counters.touched_nothing());
        reports
    }

    /// The switch's `NetworkControl` (coerces to `Arc<dyn NetworkControl>`).
    /// It does not keep the switch alive: once the switch is gone, `apply`
    /// fails and healing does nothing.
    pub fn control(&self) -> Arc<SwitchControl> {
        Arc::new(SwitchControl {
            shared: Arc::downgrade(&self.shared),
        })
    }
}

/// The core's `NetworkControl` on a switch, plus what each fault did.
#[derive(Clone)]
pub struct SwitchControl {
    shared: Weak<Shared>,
}

impl SwitchControl {
    /// One fault, whether it is active, and what it did so far (`None` for
    /// an unknown fault or a switch that is gone).
    pub fn fault_report(&self, fault: FaultId) -> Option<FaultReport> {
        let shared = self.shared.upgrade()?;
        shared.with_engine(|engine| engine.report(fault))
    }

    /// Every fault applied so far (empty once the switch is gone).
    pub fn fault_reports(&self) -> Vec<FaultReport> {
        self.shared
            .upgrade()
            .map(|shared| shared.with_engine(|engine| engine.reports()))
            .unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl NetworkControl for SwitchControl {
    async fn apply(&self, fault: &NetworkFault) -> Result<FaultId, ControlError> {
        let plane = Fault::from_network(fault)?;
        let Some(shared) = self.shared.upgrade() else {
            return Err(ControlError::ActionFailed {
                action: "apply".to_owned(),
                target: fault.to_string(),
                source: crate::Error::SwitchStopped.into(),
            });
        };
        shared.with_engine(|engine| engine.apply(plane))
    }

    async fn heal(&self, fault: FaultId) -> Result<(), ControlError> {
        if let Some(shared) = self.shared.upgrade() {
            shared.with_engine(|engine| engine.heal(fault));
        }
        Ok(())
    }

    fn effect(&self, fault: FaultId) -> Option<scenario_core::FaultEffect> {
        Some(self.fault_report(fault)?.counters)
    }

    async fn heal_all(&self) -> Result<(), ControlError> {
        if let Some(shared) = self.shared.upgrade() {
            shared.with_engine(super::engine::Engine::heal_all);
        }
        Ok(())
    }
}
