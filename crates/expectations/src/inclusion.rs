//! Inclusion of what the workloads submitted: transactions in finalized
//! blocks (with latency from submission to the node's commit time), and
//! blobs certified in finalized blocks with every sample verified.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use scenario_core::ledger::Ledger;
use scenario_core::prelude::*;
use scenario_core::{BlobId, TxId};

use crate::quantile;

/// Finalized blocks by what they carry, from the block feed.
fn finalized(ctx: &RunContext) -> Result<Vec<scenario_core::ObservedBlock>, BoxError> {
    let feed = ctx
        .block_feed()
        .ok_or("this expectation needs a block feed: add .block_feed(blockfeed::Feed::new())")?;
    Ok(feed.finalized_blocks().into_values().collect())
}

/// At least `percent` % of accepted transactions finalized.
pub struct TxInclusion {
    ledger: Ledger,
    percent: f64,
    bounds: Vec<(f64, Duration)>,
}

impl TxInclusion {
    /// At least `percent` % of the transactions the ledger shows accepted.
    pub fn at_least(percent: f64, ledger: &Ledger) -> Self {
        Self {
            ledger: ledger.clone(),
            percent,
            bounds: Vec::new(),
        }
    }

    /// Also require the median inclusion latency to stay below `bound`.
    pub fn p50_below(self, bound: Duration) -> Self {
        self.latency_below(0.50, bound)
    }

    /// Also require the 95th percentile of inclusion latency to stay below `bound`.
    pub fn p95_below(self, bound: Duration) -> Self {
        self.latency_below(0.95, bound)
    }

    /// Also require the 99th percentile of inclusion latency to stay below `bound`.
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
        let txs = self.ledger.txs();
        let accepted: Vec<_> = txs.iter().filter(|t| t.id.is_some()).collect();
        if accepted.is_empty() {
            return Ok(Verdict::fail(format!(
                "no transaction was accepted ({} submitted)",
                txs.len()
            )));
        }
        let mut latencies: Vec<u64> = Vec::new();
        let mut missing: Vec<&TxId> = Vec::new();
        let run_started_ms =
            scenario_core::ledger::unix_ms().saturating_sub(ctx.timeline().elapsed_ms());
        let mut points = Vec::new();
        for record in &accepted {
            let Some(id) = &record.id else { continue };
            match committed.get(id) {
                Some(at) => {
                    let latency = at.saturating_sub(record.submitted_at_ms);
                    latencies.push(latency);
                    let sent_s =
                        record.submitted_at_ms.saturating_sub(run_started_ms) as f64 / 1000.0;
                    points.push([sent_s, latency as f64]);
                }
                None => missing.push(id),
            }
        }
        latencies.sort_unstable();
        let share = 100.0 * latencies.len() as f64 / accepted.len() as f64;
        let (p50, p95, p99) = (
            quantile(&latencies, 0.5),
            quantile(&latencies, 0.95),
            quantile(&latencies, 0.99),
        );
        let figures = |v: Verdict| {
            v.series("inclusion latency (ms) by send time", points.clone())
                .figure("accepted", accepted.len() as f64)
                .figure("included", latencies.len() as f64)
                .figure("included_percent", share)
                .figure("latency_p50_ms", p50.unwrap_or(0) as f64)
                .figure("latency_p95_ms", p95.unwrap_or(0) as f64)
                .figure("latency_p99_ms", p99.unwrap_or(0) as f64)
        };
        if share < self.percent {
            let example = missing
                .first()
                .map(|id| format!("; e.g. {id} never appeared"))
                .unwrap_or_default();
            return Ok(figures(Verdict::fail(format!(
                "{:.1} % of {} accepted transactions were finalized, below {} %{example}",
                share,
                accepted.len(),
                self.percent
            ))));
        }
        for (q, bound) in &self.bounds {
            let Some(value) = quantile(&latencies, *q) else {
                continue;
            };
            if Duration::from_millis(value) > *bound {
                return Ok(figures(Verdict::fail(format!(
                    "inclusion latency p{:.0} is {value} ms, above the bound of {} ms",
                    q * 100.0,
                    bound.as_millis()
                ))));
            }
        }
        Ok(figures(Verdict::pass(format!(
            "{:.1} % of {} accepted transactions finalized; latency p50 {} ms, p95 {} ms, p99 {} ms",
            share,
            accepted.len(),
            p50.unwrap_or(0),
            p95.unwrap_or(0),
            p99.unwrap_or(0)
        ))))
    }
}

/// At least `percent` % of dispersed blobs certified, every sample verified.
pub struct DaAvailability {
    ledger: Ledger,
    percent: f64,
}

impl DaAvailability {
    /// At least `percent` % of the blobs the ledger shows accepted.
    pub fn at_least(percent: f64, ledger: &Ledger) -> Self {
        Self {
            ledger: ledger.clone(),
            percent,
        }
    }
}

#[async_trait]
impl Expectation for DaAvailability {
    fn name(&self) -> &str {
        "da-availability"
    }

    fn requirements(&self) -> Requirements {
        Requirements::none().block_feed().reads(&self.ledger)
    }

    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        let certified: BTreeSet<BlobId> = finalized(ctx)?
            .into_iter()
            .flat_map(|b| b.block.blobs)
            .collect();
        let blobs = self.ledger.blobs();
        let accepted: Vec<_> = blobs.iter().filter(|b| b.id.is_some()).collect();
        if accepted.is_empty() {
            return Ok(Verdict::fail(format!(
                "no blob was accepted ({} dispersed)",
                blobs.len()
            )));
        }
        let certified_count = accepted
            .iter()
            .filter(|b| b.id.as_ref().is_some_and(|id| certified.contains(id)))
            .count();
        let verified: u32 = accepted.iter().map(|b| b.samples_verified).sum();
        let failures: Vec<&String> = accepted.iter().flat_map(|b| &b.sample_failures).collect();
        let share = 100.0 * certified_count as f64 / accepted.len() as f64;
        let figures = |v: Verdict| {
            v.figure("accepted", accepted.len() as f64)
                .figure("certified", certified_count as f64)
                .figure("certified_percent", share)
                .figure("samples_verified", f64::from(verified))
                .figure("sample_failures", failures.len() as f64)
        };
        if let Some(first) = failures.first() {
            return Ok(figures(Verdict::fail(format!(
                "{} samples failed; the first: {first}",
                failures.len()
            ))));
        }
        if share < self.percent {
            return Ok(figures(Verdict::fail(format!(
                "{share:.1} % of {} accepted blobs were certified, below {} %",
                accepted.len(),
                self.percent
            ))));
        }
        Ok(figures(Verdict::pass(format!(
            "{share:.1} % of {} accepted blobs certified; {verified} samples verified",
            accepted.len()
        ))))
    }
}
