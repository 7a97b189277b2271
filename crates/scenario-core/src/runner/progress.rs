//! Live progress on a terminal while the window runs: elapsed / window,
//! finalized heights, transaction rate, active faults and expectations that
//! already failed. One line, rewritten in place on stderr; nothing when
//! stderr is not a terminal or when `CI` is set.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::context::RunContext;
use crate::faults::fault_windows;
use crate::scenario::Scenario;
use crate::timeline::Event;

pub(crate) struct Progress {
    enabled: bool,
    window: Duration,
    started: tokio::time::Instant,
    last_submitted: u64,
}

impl Progress {
    pub(crate) fn new(window: Duration) -> Self {
        let enabled = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Self {
            enabled,
            window,
            started: tokio::time::Instant::now(),
            last_submitted: 0,
        }
    }

    pub(crate) fn show(&mut self, ctx: &RunContext, scenario: &Scenario, failing: &[String]) {
        if !self.enabled {
            return;
        }
        let heights = ctx
            .block_feed()
            .map(|feed| feed.finalized_heights())
            .unwrap_or_default();
        let (low, high) = (
            heights.values().min().copied(),
            heights.values().max().copied(),
        );
        let submitted: u64 = scenario.workloads.iter().map(|w| w.stats().submitted).sum();
        let rate = submitted.saturating_sub(self.last_submitted);
        self.last_submitted = submitted;
        let active = Active::at_end_of(&ctx.timeline().events());
        let line = format!(
            "testbed: {:>4.0}s / {:.0}s | finalized {} | {rate} submissions/s | faults active {} | nodes down {} | failing {}",
            self.started.elapsed().as_secs_f64(),
            self.window.as_secs_f64(),
            match (low, high) {
                (Some(low), Some(high)) => format!("{low}..{high}"),
                _ => "-".to_owned(),
            },
            active.faults,
            active.nodes_down,
            if failing.is_empty() {
                "none".to_owned()
            } else {
                failing.join(", ")
            },
        );
        let mut stderr = std::io::stderr();
        let _ = write!(stderr, "\r{line:<110}");
        let _ = stderr.flush();
    }

    pub(crate) fn finish(&self) {
        if self.enabled {
            eprintln!();
        }
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
