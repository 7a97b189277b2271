//! Live progress while the window runs: elapsed / window, finalized
//! heights, submission rate, active faults, nodes down and expectations that
//! already failed, handed to the run's output about once a second (the
//! terminal shows it as one line rewritten in place, and only on a terminal
//! without `CI`).

use std::sync::Arc;
use std::time::Duration;

use crate::context::RunContext;
use crate::faults::fault_windows;
use crate::output::{Console, OutputEvent, ProgressUpdate};
use crate::scenario::Scenario;
use crate::timeline::Event;

pub(crate) struct Progress {
    console: Arc<Console>,
    window: Duration,
    started: tokio::time::Instant,
    last_submitted: u64,
}

impl Progress {
    pub(crate) fn new(window: Duration, console: Arc<Console>) -> Self {
        Self {
            console,
            window,
            started: tokio::time::Instant::now(),
            last_submitted: 0,
        }
    }

    pub(crate) fn show(&mut self, ctx: &RunContext, scenario: &Scenario, failing: &[String]) {
        if !self.console.wants_progress() {
            return;
        }
        let heights = ctx
            .block_feed()
            .map(|feed| feed.finalized_heights())
            .unwrap_or_default();
        let finalized = heights
            .values()
            .min()
            .copied()
            .zip(heights.values().max().copied());
        let submitted: u64 = scenario.workloads.iter().map(|w| w.stats().submitted).sum();
        let rate = submitted.saturating_sub(self.last_submitted);
        self.last_submitted = submitted;
        let active = Active::at_end_of(&ctx.timeline().live_events());
        self.console.emit(&OutputEvent::Progress(ProgressUpdate {
            run_id: ctx.run_id().to_owned(),
            elapsed: self.started.elapsed(),
            window: self.window,
            finalized,
            submissions_per_s: rate,
            faults_active: active.faults,
            nodes_down: active.nodes_down,
            failing: failing.to_vec(),
        }));
    }

    pub(crate) fn finish(&self) {
        self.console.emit(&OutputEvent::ProgressEnded);
    }
}

/// What is wrong at the last event of a timeline.
#[derive(Debug, PartialEq, Eq)]
struct Active {
    /// Network faults applied and not healed.
    faults: usize,
    /// Nodes down or frozen.
    nodes_down: usize,
}

impl Active {
    fn at_end_of(events: &[Event]) -> Self {
        let windows = fault_windows(events);
        let open = || windows.iter().filter(|w| w.is_active());
        Self {
            faults: open().filter(|w| w.is_network()).count(),
            nodes_down: open().filter(|w| !w.is_network()).count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{FaultId, NetworkFault};
    use crate::timeline::{EventKind, Timeline};
    use crate::topology::NodeId;

    fn cut(from: &str, to: &str) -> NetworkFault {
        NetworkFault::Cut {
            from: NodeId::new(from),
            to: NodeId::new(to),
        }
    }

    #[test]
    fn a_heal_of_every_fault_leaves_none_active() {
        let timeline = Timeline::new();
        for id in 1..=3 {
            let fault = cut("validator-0", &format!("validator-{id}"));
            timeline.record_fault(
                EventKind::FaultApplied,
                Some(FaultId(id)),
                Some(&fault),
                "cut",
            );
        }
        timeline.record_fault(EventKind::FaultHealed, Some(FaultId(2)), None, "healed");
        assert_eq!(Active::at_end_of(&timeline.events()).faults, 2);
        timeline.record_fault(EventKind::FaultHealed, None, None, "every fault healed");
        let fault = cut("validator-1", "validator-2");
        timeline.record_fault(
            EventKind::FaultApplied,
            Some(FaultId(4)),
            Some(&fault),
            "cut",
        );
        let node = NodeId::new("validator-3");
        timeline.record_node(&node, crate::timeline::NodeCause::Stop, "stop");
        assert_eq!(
            Active::at_end_of(&timeline.events()),
            Active {
                faults: 1,
                nodes_down: 1
            }
        );
    }
}
