//! What the runner has learnt so far: phase records, failures, verdicts and
//! workload outcomes. Kept outside the phase futures so that a deadline or a
//! signal that drops them leaves everything recorded up to that point.

use tokio::time::Instant;

use crate::report::{ExpectationRecord, Phase, PhaseRecord, PhaseStatus, WorkloadRecord};
use crate::timeline::{EventKind, Timeline};
use crate::workload::WorkloadStats;

pub(super) struct RunState {
    timeline: Timeline,
    /// Where the run's banners and progress go.
    pub(super) console: std::sync::Arc<crate::output::Console>,
    current: Option<Current>,
    pub(super) phases: Vec<PhaseRecord>,
    pub(super) failures: Vec<String>,
    pub(super) capture_errors: Vec<Option<String>>,
    pub(super) expectations: Vec<Option<ExpectationRecord>>,
    pub(super) workloads: Vec<WorkloadRecord>,
    pub(super) heights: std::collections::BTreeMap<crate::topology::NodeId, Vec<[u64; 2]>>,
    /// The recorded network control, to ask what each fault did.
    pub(super) network: Option<std::sync::Arc<super::recorded::RecordedNetworkControl>>,
    /// What every network fault did.
    pub(super) faults: Vec<crate::report::FaultRecord>,
}

struct Current {
    phase: Phase,
    started: Instant,
    failures_before: usize,
}

impl RunState {
    pub(super) fn new(
        timeline: Timeline,
        console: std::sync::Arc<crate::output::Console>,
        workload_names: Vec<String>,
        expectation_count: usize,
    ) -> Self {
        Self {
            timeline,
            console,
            current: None,
            phases: Vec::new(),
            failures: Vec::new(),
            capture_errors: vec![None; expectation_count],
            expectations: vec![None; expectation_count],
            workloads: workload_names
                .into_iter()
                .map(|name| WorkloadRecord {
                    name,
                    stats: WorkloadStats::default(),
                    error: None,
                })
                .collect(),
            heights: std::collections::BTreeMap::new(),
            network: None,
            faults: Vec::new(),
        }
    }

    pub(super) fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The phase in progress, if any.
    pub(super) fn current_phase(&self) -> Option<Phase> {
        self.current.as_ref().map(|current| current.phase)
    }

    pub(super) fn begin(&mut self, phase: Phase) {
        self.timeline
            .record(EventKind::PhaseStarted, None, phase.to_string());
        self.current = Some(Current {
            phase,
            started: Instant::now(),
            failures_before: self.failures.len(),
        });
    }

    /// End the phase in progress; it failed if anything failed during it.
    pub(super) fn end(&mut self) {
        let failed = self
            .current
            .as_ref()
            .is_some_and(|current| self.failures.len() > current.failures_before);
        let status = if failed {
            PhaseStatus::Failed
        } else {
            PhaseStatus::Completed
        };
        self.finish(status);
    }

    /// End the phase in progress as stopped midway.
    pub(super) fn cut_short(&mut self) {
        self.finish(PhaseStatus::CutShort);
    }

    fn finish(&mut self, status: PhaseStatus) {
        if let Some(current) = self.current.take() {
            let duration_ms =
                u64::try_from(current.started.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.timeline.record(
                EventKind::PhaseFinished,
                None,
                format!("{} {status:?}", current.phase).to_lowercase(),
            );
            self.phases.push(PhaseRecord {
                name: current.phase,
                duration_ms,
                status,
            });
        }
    }

    /// Record a run-level failure.
    pub(super) fn fail(&mut self, reason: impl Into<String>) {
        let reason = reason.into();
        tracing::warn!(%reason, "run failure");
        self.failures.push(reason);
    }

    /// Record a workload's failure, on the timeline and in its record.
    pub(super) fn workload_failed(&mut self, index: usize, reason: String) {
        let name = self.workloads[index].name.clone();
        self.timeline
            .record(EventKind::WorkloadFailed, None, format!("{name}: {reason}"));
        self.fail(format!("workload '{name}' {reason}"));
        self.workloads[index].error = Some(reason);
    }

    /// Phases that never started, marked skipped, so the report lists all six.
    pub(super) fn mark_unstarted(&mut self) {
        for phase in Phase::ALL {
            if !self.phases.iter().any(|record| record.name == phase) {
                self.phases.push(PhaseRecord {
                    name: phase,
                    duration_ms: 0,
                    status: PhaseStatus::Skipped,
                });
            }
        }
        self.phases.sort_by_key(|record| record.name);
    }
}
