//! Inclusion of the transactions the workloads submitted: every accepted
//! transaction that had time to settle must be in a finalized block (loosen
//! it explicitly with [`TxInclusion::at_least`]), and latency bounds hold
//! for transactions no fault touched (sent outside fault windows and 2 s
//! after each, and not caught on their way by a fault that began within
//! 2 s of their sending), so a partition does not hide a regression of the
//! healthy path.

use std::time::Duration;

use scenario_core::ledger::Ledger;
use scenario_core::prelude::*;

use crate::follow::{Follower, not_followed};

mod tally;

use tally::InclusionTally;

/// How long a transaction sent before evaluation may still be on its way
/// and not count as missing, by default.
const DEFAULT_SETTLE: Duration = Duration::from_secs(3);

/// Accepted transactions finalized: all of them by default.
pub struct TxInclusion {
    ledger: Ledger,
    percent: f64,
    settle: Duration,
    bounds: Vec<(f64, Duration)>,
    follower: Follower<InclusionTally>,
}

impl TxInclusion {
    /// Every transaction the ledger shows accepted, and sent at least the
    /// settle time (3 s) before evaluation, must be finalized.
    pub fn all(ledger: &Ledger) -> Self {
        Self {
            ledger: ledger.clone(),
            percent: 100.0,
            settle: DEFAULT_SETTLE,
            bounds: Vec::new(),
            follower: Follower::new(),
        }
    }

    /// Loosened: at least `percent` % of them.
    pub fn at_least(percent: f64, ledger: &Ledger) -> Self {
        Self {
            percent,
            ..Self::all(ledger)
        }
    }

    /// Transactions sent less than `settle` before evaluation are not
    /// judged (default 3 s; the scenario's cooldown comes on top).
    pub fn settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// Also require the median inclusion latency of transactions no fault
    /// touched (see the module docs) to stay below `bound`.
    pub fn p50_below(self, bound: Duration) -> Self {
        self.latency_below(0.50, bound)
    }

    /// The same for the 95th percentile.
    pub fn p95_below(self, bound: Duration) -> Self {
        self.latency_below(0.95, bound)
    }

    /// The same for the 99th percentile.
    pub fn p99_below(self, bound: Duration) -> Self {
        self.latency_below(0.99, bound)
    }

    fn latency_below(mut self, quantile: f64, bound: Duration) -> Self {
        self.bounds.push((quantile, bound));
        self
    }
}

#[async_trait]
impl Expectation for TxInclusion {
    fn name(&self) -> &str {
        "tx-inclusion"
    }

    fn requirements(&self) -> Requirements {
        Requirements::none()
            .node_api()
            .block_feed()
            .reads(&self.ledger)
    }

    async fn capture(&self, ctx: &RunContext) -> Result<(), BoxError> {
        self.follower
            .start(ctx, &self.ledger, InclusionTally::new(self.settle))
    }

    async fn evaluate(&self, _ctx: &RunContext) -> Result<Verdict, BoxError> {
        let followed = self
            .follower
            .finish()
            .ok_or_else(|| not_followed(self.name()))?;
        if let Some(behind) = followed.fell_behind("which transactions were included") {
            return Ok(behind);
        }
        let (mut tally, now) = (followed.tally, followed.now);
        let (missing, lost_with_node) = tally.missing(&now);
        let (accepted, included) = (tally.accepted, tally.all.len());
        let judged_count = usize::try_from(included).unwrap_or(usize::MAX) + missing.len();
        if judged_count == 0 && lost_with_node > 0 {
            return Ok(Verdict::fail(format!(
                "none of the transactions that had time to settle could be judged: all {lost_with_node} were lost with a node that went down (sent just before or while it was down, or held by it while it was cut off), and none was finalized"
            )));
        }
        if judged_count == 0 {
            return Ok(Verdict::fail(format!(
                "no transaction was accepted early enough to judge ({} submitted, {accepted} accepted)",
                tally.submitted,
            )));
        }
        let share = 100.0 * included as f64 / judged_count as f64;
        let [p50, p95, p99] = percentiles(&tally.all);
        let [calm50, calm95, calm99] = percentiles(&tally.calm);
        let points = tally.points.points();
        let figures = |v: Verdict| {
            v.series("inclusion latency (ms) by send time", points.clone())
                .figure("accepted", accepted as f64)
                .figure("judged", judged_count as f64)
                .figure("lost_with_a_stopped_node", lost_with_node as f64)
                .figure("included", included as f64)
                .figure("included_percent", share)
                .figure("latency_p50_ms", p50 as f64)
                .figure("latency_p95_ms", p95 as f64)
                .figure("latency_p99_ms", p99 as f64)
                .figure("outside_faults_p50_ms", calm50 as f64)
                .figure("outside_faults_p95_ms", calm95 as f64)
                .figure("outside_faults_p99_ms", calm99 as f64)
        };
        if share < self.percent {
            let example = missing.first().map_or_else(String::new, |record| {
                format!(
                    "; e.g. {} submitted to {} at {:.1} s never appeared",
                    record.id.as_ref().map_or("?", |id| id.0.as_str()),
                    record.node,
                    now.in_run(record.submitted_at_ms) as f64 / 1000.0
                )
            });
            let wanted = if self.percent >= 100.0 {
                "every one".to_owned()
            } else {
                format!("at least {} %", self.percent)
            };
            return Ok(figures(Verdict::fail(format!(
                "{included} of {judged_count} accepted transactions that had time to settle were finalized ({share:.1} %), {wanted} must be{example}",
            ))));
        }
        for (q, bound) in &self.bounds {
            if tally.calm.is_empty() {
                continue;
            }
            // The histogram answers the top of the value's bucket (3
            // significant digits); its bottom is what is compared, so a
            // latency exactly at the bound passes.
            let value = tally.calm.value_at_quantile(*q);
            if Duration::from_millis(tally.calm.lowest_equivalent(value)) > *bound {
                return Ok(figures(Verdict::fail(format!(
                    "inclusion latency p{:.0} outside fault windows is {value} ms, above the bound of {} ms ({} transactions sent outside faults)",
                    q * 100.0,
                    bound.as_millis(),
                    tally.calm.len()
                ))));
            }
        }
        Ok(figures(Verdict::pass(format!(
            "{share:.1} % of {judged_count} accepted transactions finalized{}; latency p50 {p50} ms, p95 {p95} ms, p99 {p99} ms (outside faults: p50 {calm50} ms, p99 {calm99} ms)",
            if lost_with_node > 0 {
                format!(
                    " ({lost_with_node} more were lost with a node that went down: sent just before or while it was down, or held by it while it was cut off; not judged)"
                )
            } else {
                String::new()
            },
        ))))
    }
}

/// The 50th, 95th and 99th percentiles, 0 for no values.
fn percentiles(histogram: &hdrhistogram::Histogram<u64>) -> [u64; 3] {
    if histogram.is_empty() {
        return [0; 3];
    }
    [0.5, 0.95, 0.99].map(|q| histogram.value_at_quantile(q))
}
