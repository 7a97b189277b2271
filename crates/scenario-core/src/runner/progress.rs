//! Live progress on a terminal while the window runs: elapsed / window,
//! finalized heights, transaction rate, active faults and expectations that
//! already failed. One line, rewritten in place on stderr; nothing when
//! stderr is not a terminal or when `CI` is set.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::context::RunContext;
use crate::scenario::Scenario;
use crate::timeline::EventKind;

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
        let events = ctx.timeline().events();
        let applied = events
            .iter()
            .filter(|e| e.kind == EventKind::FaultApplied)
            .count();
        let healed = events
            .iter()
            .filter(|e| e.kind == EventKind::FaultHealed)
            .count();
        let line = format!(
            "testbed: {:>4.0}s / {:.0}s | finalized {} | {rate} submissions/s | faults active {} | failing {}",
            self.started.elapsed().as_secs_f64(),
            self.window.as_secs_f64(),
            match (low, high) {
                (Some(low), Some(high)) => format!("{low}..{high}"),
                _ => "-".to_owned(),
            },
            applied.saturating_sub(healed),
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
