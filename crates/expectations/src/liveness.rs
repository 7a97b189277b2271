//! Windowed liveness: a sampler records the highest finalized height any node
//! reports, and every window W of the run must add at least k blocks. It is
//! fault-aware: while a partition or stopped or frozen validators leave no quorum, no
//! progress is required, and after that until a grace period passed. It is
//! continuous: a required window that falls short stops the run early.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use scenario_core::prelude::*;
use tokio_util::sync::CancellationToken as Token;

/// The chain finalizes at least `blocks` blocks in every `window`.
pub struct Liveness {
    blocks: u64,
    window: Duration,
    grace: Duration,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Token,
}

impl Liveness {
    /// At least `blocks` new finalized blocks in every `window`.
    pub fn new(blocks: u64, window: Duration) -> Self {
        Self {
            blocks,
            window,
            grace: window,
            samples: Arc::default(),
            stop: Token::new(),
        }
    }
}

impl Liveness {
    /// How long after quorum returns before progress is required again
    /// (default: one window).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Whether the window `[start, end]` overlaps a time without quorum
    /// (extended by the grace period).
    fn exempt(&self, periods: &[(u64, u64)], start: u64, end: u64) -> bool {
        let grace = u64::try_from(self.grace.as_millis()).unwrap_or(u64::MAX);
        periods
            .iter()
            .any(|(from, to)| start <= to.saturating_add(grace) && end >= *from)
    }
}

/// Times `(from_ms, to_ms)` when no majority of validators could talk:
/// too many down or frozen, or a partition leaving no group with a majority
/// (the core's fault windows say when; a period still open ends at
/// `u64::MAX`).
pub(crate) fn no_quorum_periods(ctx: &RunContext) -> Vec<(u64, u64)> {
    let validators = ctx.nodes_with_role(&Role::Validator).into_iter().collect();
    let windows = scenario_core::fault_windows(&ctx.timeline().events());
    scenario_core::no_quorum_periods(&windows, &validators)
        .into_iter()
        .map(|period| (period.from_ms, period.until_ms.unwrap_or(u64::MAX)))
        .collect()
}

/// One look at the network: when, the highest finalized height any node
/// reported, and the leader most nodes followed (when they report one).
#[derive(Clone, Debug)]
struct Sample {
    at: u64,
    height: u64,
    leader: Option<NodeId>,
}

async fn sample(ctx: &RunContext) -> Sample {
    let mut height = 0;
    let mut votes: std::collections::BTreeMap<NodeId, usize> = Default::default();
    for client in ctx.clients().values() {
        if let Ok(info) = client.info().await {
            height = height.max(info.finalized_height);
            if let Some(leader) = info.leader {
                *votes.entry(leader).or_default() += 1;
            }
        }
    }
    let leader = votes
        .into_iter()
        .max_by_key(|(_, count)| *count)
        .map(|(leader, _)| leader);
    Sample {
        at: ctx.timeline().elapsed_ms(),
        height,
        leader,
    }
}

/// The failure message for a window `[start, end]` that gained too little,
/// naming the height it ended at: where progress stopped (the window's start
/// may lie before the chain's last blocks).
fn stalled(
    start: &Sample,
    (end_ms, end_height): (u64, u64),
    blocks: u64,
    window_ms: u64,
) -> String {
    let gained = end_height.saturating_sub(start.height);
    let leader = start.leader.as_ref().map_or_else(
        || "no node reported a leader".to_owned(),
        |l| format!("the leader was {l}"),
    );
    format!(
        "finalization stalled at height {end_height}: between {} ms and {end_ms} ms only {gained} blocks were finalized (need {blocks} per {window_ms} ms window); {leader}",
        start.at
    )
}

#[async_trait]
impl Expectation for Liveness {
    fn name(&self) -> &str {
        "liveness"
    }

    fn requirements(&self) -> Requirements {
        // It reads heights and blocks through the testing API.
        Requirements::none().node_api()
    }

    async fn capture(&self, ctx: &RunContext) -> Result<(), BoxError> {
        let (ctx, samples, stop) = (ctx.clone(), Arc::clone(&self.samples), self.stop.clone());
        let every = (self.window / 10).max(Duration::from_millis(50));
        tokio::spawn(async move {
            loop {
                let now = sample(&ctx).await;
                samples
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(now);
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
            }
        });
        Ok(())
    }

    /// Fails the run early once a whole window went by with too few blocks.
    async fn check_now(&self, ctx: &RunContext) -> Result<Option<Verdict>, BoxError> {
        let samples = self
            .samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let window_ms = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        let Some(last) = samples.last() else {
            return Ok(None);
        };
        let Some(first) = samples
            .iter()
            .rev()
            .find(|s| last.at.saturating_sub(s.at) >= window_ms)
        else {
            return Ok(None);
        };
        let gained = last.height.saturating_sub(first.height);
        if self.exempt(&no_quorum_periods(ctx), first.at, last.at) {
            return Ok(None);
        }
        Ok((gained < self.blocks).then(|| {
            Verdict::fail(stalled(
                first,
                (last.at, last.height),
                self.blocks,
                window_ms,
            ))
            .figure("slowest_window_blocks", gained as f64)
            .figure("stalled_at_height", last.height as f64)
        }))
    }

    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        self.stop.cancel();
        let samples = self
            .samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let window_ms = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
            return Ok(Verdict::fail("no height was sampled"));
        };
        if last.at - first.at < window_ms {
            return Ok(Verdict::fail(format!(
                "the run lasted {} ms, shorter than one liveness window of {window_ms} ms",
                last.at - first.at
            )));
        }
        let periods = no_quorum_periods(ctx);
        let mut exempted = 0;
        let mut worst = u64::MAX;
        let mut worst_at = (first, (0, 0));
        for start in &samples {
            let end = start.at + window_ms;
            if end > last.at {
                break;
            }
            if self.exempt(&periods, start.at, end) {
                exempted += 1;
                continue;
            }
            let later = samples
                .iter()
                .filter(|s| s.at <= end)
                .map(|s| s.height)
                .max()
                .unwrap_or(start.height);
            let gained = later.saturating_sub(start.height);
            if gained < worst {
                worst = gained;
                worst_at = (start, (end, later));
            }
        }
        let exempt_note = if periods.is_empty() {
            String::new()
        } else {
            format!(" ({} without quorum, not required)", periods.len())
        };
        let verdict = if worst == u64::MAX {
            Verdict::pass(format!("no window required progress{exempt_note}"))
        } else if worst >= self.blocks {
            Verdict::pass(format!(
                "every required {window_ms} ms window finalized at least {} blocks (the slowest: {worst}); height {} → {}{exempt_note}",
                self.blocks, first.height, last.height
            ))
        } else {
            Verdict::fail(stalled(worst_at.0, worst_at.1, self.blocks, window_ms))
                .figure("stalled_at_height", worst_at.1.1 as f64)
        };
        Ok(verdict
            .figure(
                "slowest_window_blocks",
                if worst == u64::MAX { 0.0 } else { worst as f64 },
            )
            .figure("exempt_windows", f64::from(exempted))
            .figure("finalized_height", last.height as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_window_names_the_height_it_ended_at_not_the_one_it_began_at() {
        // The window began just before the chain's last block.
        let start = Sample {
            at: 1000,
            height: 14,
            leader: Some(NodeId::new("validator-0")),
        };
        assert_eq!(
            stalled(&start, (5000, 15), 2, 4000),
            "finalization stalled at height 15: between 1000 ms and 5000 ms only 1 blocks were finalized (need 2 per 4000 ms window); the leader was validator-0"
        );
    }
}
