//! What a chaos workload reports: every control action it performed (a
//! fault applied, a node acted on, a heal or undo), when into the window,
//! and whether it worked.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use scenario_core::WorkloadStats;
use serde::Serialize;

/// One control action performed.
#[derive(Clone, Debug, Serialize)]
struct Performed {
    /// Milliseconds since the window opened.
    into_window_ms: u64,
    /// What was done, e.g. `stop validator-1` or `heal fault #2 (partition …)`.
    action: String,
    /// Whether it healed or undid an earlier action.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    heal: bool,
    /// Why it failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The actions of one run, shared by the player and its heal tasks.
#[derive(Debug, Default)]
pub(super) struct ChaosLog {
    performed: Mutex<Vec<Performed>>,
    planned: std::sync::atomic::AtomicU64,
}

impl ChaosLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Performed>> {
        self.performed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Forget an earlier run.
    pub(super) fn reset(&self) {
        self.lock().clear();
        self.set_planned(0);
    }

    /// How many faults the schedule holds for this run (heals not counted).
    pub(super) fn set_planned(&self, planned: usize) {
        self.planned.store(
            u64::try_from(planned).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Note one action, `at` into the window.
    pub(super) fn record(&self, at: Duration, action: String, heal: bool, error: Option<String>) {
        self.lock().push(Performed {
            into_window_ms: u64::try_from(at.as_millis()).unwrap_or(u64::MAX),
            action,
            heal,
            error,
        });
    }

    /// Every action counts in `submitted` (applies and heals alike),
    /// `accepted` or `failed`; `healed` counts the heals and undos that
    /// worked, `actions` lists them all in order.
    pub(super) fn stats(&self) -> WorkloadStats {
        let performed = self.lock();
        let count = |keep: &dyn Fn(&Performed) -> bool| -> u64 {
            u64::try_from(performed.iter().filter(|p| keep(p)).count()).unwrap_or(u64::MAX)
        };
        let mut stats = WorkloadStats {
            submitted: count(&|_| true),
            accepted: count(&|p| p.error.is_none()),
            failed: count(&|p| p.error.is_some()),
            ..WorkloadStats::default()
        };
        stats.extra.insert(
            "planned".to_owned(),
            self.planned
                .load(std::sync::atomic::Ordering::Relaxed)
                .into(),
        );
        stats.extra.insert(
            "done".to_owned(),
            count(&|p| !p.heal && p.error.is_none()).into(),
        );
        stats.extra.insert(
            "healed".to_owned(),
            count(&|p| p.heal && p.error.is_none()).into(),
        );
        stats.extra.insert(
            "actions".to_owned(),
            serde_json::to_value(&*performed).unwrap_or_default(),
        );
        stats
    }
}
