//! Inclusion of the transactions the workloads submitted: every accepted
//! transaction that had time to settle must be in a finalized block (loosen
//! it explicitly with [`TxInclusion::at_least`]), and latency bounds hold
//! for transactions sent while no fault was in force, so a partition does
//! not hide a regression of the healthy path.

use std::collections::BTreeMap;
use std::time::Duration;

use scenario_core::ledger::{Ledger, TxRecord};
use scenario_core::prelude::*;
use scenario_core::{NodeId, TxId, fault_windows};

use crate::quantile;

/// Finalized blocks by what they carry, from the block feed.
pub(crate) fn finalized(ctx: &RunContext) -> Result<Vec<scenario_core::ObservedBlock>, BoxError> {
    let feed = ctx
        .block_feed()
        .ok_or("this expectation needs a block feed: add .block_feed(blockfeed::Feed::new())")?;
    Ok(feed.finalized_blocks().into_values().collect())
}

/// How long a transaction sent before evaluation may still be on its way
/// and not count as missing, by default.
const DEFAULT_SETTLE: Duration = Duration::from_secs(3);

/// How long after a fault ends transactions still count as sent under it.
const AFTER_FAULT: Duration = Duration::from_secs(2);

/// Accepted transactions finalized: all of them by default.
pub struct TxInclusion {
    ledger: Ledger,
    percent: f64,
    settle: Duration,
    bounds: Vec<(f64, Duration)>,
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

    /// Also require the median inclusion latency of transactions sent
    /// outside fault windows to stay below `bound`.
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

/// Whether a transaction sent `sent_ms` into the run was sent under a fault
/// (or shortly after one healed).
fn under_fault(windows: &[scenario_core::FaultWindow], sent_ms: u64) -> bool {
    let after = u64::try_from(AFTER_FAULT.as_millis()).unwrap_or(u64::MAX);
    windows.iter().any(|window| {
        let until = window
            .until_ms
            .map_or(u64::MAX, |u| u.saturating_add(after));
        (window.from_ms..until).contains(&sent_ms)
    })
}

/// Whether a transaction sent to `node` at `sent_ms` may have been lost with
/// that node's mempool: sent while the node was down, or shortly before it
/// went down (the stop is on the timeline once it is done, and a node
/// accepts until it is gone). A fault caused that, not a silent drop.
fn lost_with_its_node(windows: &[scenario_core::FaultWindow], node: &NodeId, sent_ms: u64) -> bool {
    let before = u64::try_from(AFTER_FAULT.as_millis()).unwrap_or(u64::MAX);
    windows.iter().any(|window| {
        matches!(
            window.disruption,
            scenario_core::Disruption::NodeDown { .. }
        ) && window.node() == Some(node)
            && (window.from_ms.saturating_sub(before)..window.until_ms.unwrap_or(u64::MAX))
                .contains(&sent_ms)
    })
}

fn percentiles(sorted: &[u64]) -> [u64; 3] {
    [0.5, 0.95, 0.99].map(|q| quantile(sorted, q).unwrap_or(0))
}

#[async_trait]
impl Expectation for TxInclusion {
    fn name(&self) -> &str {
        "tx-inclusion"
    }

    fn requirements(&self) -> Requirements {
        Requirements::none().block_feed().reads(&self.ledger)
    }

    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        let mut committed: BTreeMap<TxId, u64> = BTreeMap::new();
        for observed in finalized(ctx)? {
            for tx in &observed.block.txs {
                committed
                    .entry(tx.clone())
                    .or_insert(observed.block.committed_at_ms);
            }
        }
        let now_ms = scenario_core::ledger::unix_ms();
        let run_started_ms = now_ms.saturating_sub(ctx.timeline().elapsed_ms());
        let settle_ms = u64::try_from(self.settle.as_millis()).unwrap_or(u64::MAX);
        let txs = self.ledger.txs();
        let accepted: Vec<&TxRecord> = txs.iter().filter(|t| t.id.is_some()).collect();
        let judged: Vec<&TxRecord> = accepted
            .iter()
            .copied()
            .filter(|t| t.submitted_at_ms.saturating_add(settle_ms) <= now_ms)
            .collect();
        if judged.is_empty() {
            return Ok(Verdict::fail(format!(
                "no transaction was accepted early enough to judge ({} submitted, {} accepted)",
                txs.len(),
                accepted.len()
            )));
        }
        let windows = fault_windows(&ctx.timeline().events());
        let sent_at = |record: &TxRecord| record.submitted_at_ms.saturating_sub(run_started_ms);
        let (mut latencies, mut calm, mut missing, mut points) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut lost_with_node = 0usize;
        for record in &judged {
            let Some(id) = &record.id else { continue };
            if !committed.contains_key(id)
                && lost_with_its_node(&windows, &record.node, sent_at(record))
            {
                lost_with_node += 1;
                continue;
            }
            match committed.get(id) {
                Some(at) => {
                    let latency = at.saturating_sub(record.submitted_at_ms);
                    latencies.push(latency);
                    if !under_fault(&windows, sent_at(record)) {
                        calm.push(latency);
                    }
                    points.push([sent_at(record) as f64 / 1000.0, latency as f64]);
                }
                None => missing.push(*record),
            }
        }
        latencies.sort_unstable();
        calm.sort_unstable();
        let judged_count = judged.len() - lost_with_node;
        let share = 100.0 * latencies.len() as f64 / judged_count.max(1) as f64;
        let [p50, p95, p99] = percentiles(&latencies);
        let [calm50, calm95, calm99] = percentiles(&calm);
        let figures = |v: Verdict| {
            v.series("inclusion latency (ms) by send time", points.clone())
                .figure("accepted", accepted.len() as f64)
                .figure("judged", judged_count as f64)
                .figure("lost_with_a_stopped_node", lost_with_node as f64)
                .figure("included", latencies.len() as f64)
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
                    sent_at(record) as f64 / 1000.0
                )
            });
            let wanted = if self.percent >= 100.0 {
                "every one".to_owned()
            } else {
                format!("at least {} %", self.percent)
            };
            return Ok(figures(Verdict::fail(format!(
                "{} of {} accepted transactions that had time to settle were finalized ({share:.1} %), {wanted} must be{example}",
                latencies.len(),
                judged_count,
            ))));
        }
        for (q, bound) in &self.bounds {
            let Some(value) = quantile(&calm, *q) else {
                continue;
            };
            if Duration::from_millis(value) > *bound {
                return Ok(figures(Verdict::fail(format!(
                    "inclusion latency p{:.0} outside fault windows is {value} ms, above the bound of {} ms ({} transactions sent outside faults)",
                    q * 100.0,
                    bound.as_millis(),
                    calm.len()
                ))));
            }
        }
        Ok(figures(Verdict::pass(format!(
            "{share:.1} % of {judged_count} accepted transactions finalized{}; latency p50 {p50} ms, p95 {p95} ms, p99 {p99} ms (outside faults: p50 {calm50} ms, p99 {calm99} ms)",
            if lost_with_node > 0 {
                format!(
                    " ({lost_with_node} more were sent to a node just before or while it was down, not judged)"
                )
            } else {
                String::new()
            },
        ))))
    }
}
