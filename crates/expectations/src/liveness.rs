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
    samples: Arc<Mutex<Vec<(u64, u64)>>>,
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

async fn highest(ctx: &RunContext) -> u64 {
    let mut top = 0;
    for client in ctx.clients().values() {
        if let Ok(info) = client.info().await {
            top = top.max(info.finalized_height);
        }
    }
    top
}

#[async_trait]
impl Expectation for Liveness {
    fn name(&self) -> &str {
        "liveness"
    }

    async fn capture(&self, ctx: &RunContext) -> Result<(), BoxError> {
        let (ctx, samples, stop) = (ctx.clone(), Arc::clone(&self.samples), self.stop.clone());
        let every = (self.window / 10).max(Duration::from_millis(50));
        tokio::spawn(async move {
            loop {
                let height = highest(&ctx).await;
                samples
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((ctx.timeline().elapsed_ms(), height));
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
        let Some(&(now, height)) = samples.last() else {
            return Ok(None);
        };
        let Some(&(start, before)) = samples
            .iter()
            .rev()
            .find(|(at, _)| now.saturating_sub(*at) >= window_ms)
        else {
            return Ok(None);
        };
        let gained = height.saturating_sub(before);
        if self.exempt(&no_quorum_periods(ctx), start, now) {
            return Ok(None);
        }
        Ok((gained < self.blocks).then(|| {
            Verdict::fail(format!(
                "between {start} ms and {now} ms only {gained} blocks were finalized (need {} per {window_ms} ms window)",
                self.blocks
            ))
            .figure("slowest_window_blocks", gained as f64)
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
        if last.0 - first.0 < window_ms {
            return Ok(Verdict::fail(format!(
                "the run lasted {} ms, shorter than one liveness window of {window_ms} ms",
                last.0 - first.0
            )));
        }
        let periods = no_quorum_periods(ctx);
        let mut exempted = 0;
        let mut worst = u64::MAX;
        let mut worst_at = (0, 0);
        for (start, height) in &samples {
            let end = start + window_ms;
            if end > last.0 {
                break;
            }
            if self.exempt(&periods, *start, end) {
                exempted += 1;
                continue;
            }
            let later = samples
                .iter()
                .filter(|(at, _)| *at <= end)
                .map(|(_, h)| *h)
                .max()
                .unwrap_or(*height);
            let gained = later.saturating_sub(*height);
            if gained < worst {
                worst = gained;
                worst_at = (*start, end);
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
                self.blocks, first.1, last.1
            ))
        } else {
            Verdict::fail(format!(
                "between {} ms and {} ms only {worst} blocks were finalized (need {} per {window_ms} ms window)",
                worst_at.0, worst_at.1, self.blocks
            ))
        };
        Ok(verdict
            .figure(
                "slowest_window_blocks",
                if worst == u64::MAX { 0.0 } else { worst as f64 },
            )
            .figure("exempt_windows", f64::from(exempted))
            .figure("finalized_height", last.1 as f64))
    }
}
