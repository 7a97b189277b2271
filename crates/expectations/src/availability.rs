//! Availability of what the DA workload dispersed: blobs certified in
//! finalized blocks, every sample verified, and every certified blob still
//! served at evaluation (after the cooldown), not only right after it was
//! certified.

use std::collections::BTreeMap;

use scenario_core::ledger::Ledger;
use scenario_core::prelude::*;
use scenario_core::{BlobId, ClientError};

use crate::inclusion::finalized;

/// At least `percent` % of dispersed blobs certified, every sample verified.
pub struct DaAvailability {
    ledger: Ledger,
    percent: f64,
}

impl DaAvailability {
    /// Every blob the ledger shows accepted must be certified and stay
    /// available.
    pub fn all(ledger: &Ledger) -> Self {
        Self::at_least(100.0, ledger)
    }

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
        // Where each blob was certified: the lowest finalized height carrying it.
        let mut certified_at: BTreeMap<BlobId, u64> = BTreeMap::new();
        for observed in finalized(ctx)? {
            for blob in &observed.block.blobs {
                let at = certified_at.entry(blob.clone()).or_insert(u64::MAX);
                *at = (*at).min(observed.block.height);
            }
        }
        let blobs = self.ledger.blobs();
        let accepted: Vec<_> = blobs.iter().filter(|b| b.id.is_some()).collect();
        if accepted.is_empty() {
            return Ok(Verdict::fail(format!(
                "no blob was accepted ({} dispersed)",
                blobs.len()
            )));
        }
        let certified: Vec<(&BlobId, u64)> = accepted
            .iter()
            .filter_map(|b| b.id.as_ref())
            .filter_map(|id| certified_at.get(id).map(|height| (id, *height)))
            .collect();
        let verified: u32 = accepted.iter().map(|b| b.samples_verified).sum();
        let failures: Vec<&String> = accepted.iter().flat_map(|b| &b.sample_failures).collect();
        let share = 100.0 * certified.len() as f64 / accepted.len() as f64;
        // Sampled once more now, after the cooldown: data that disappears
        // after it was first sampled is lost data.
        let mut lost = Vec::new();
        for (blob, height) in &certified {
            if let Err(why) = sample_now(ctx, blob).await {
                lost.push(format!("blob {blob} (certified at height {height}): {why}"));
            }
        }
        let figures = |v: Verdict| {
            v.figure("accepted", accepted.len() as f64)
                .figure("certified", certified.len() as f64)
                .figure("certified_percent", share)
                .figure("samples_verified", f64::from(verified))
                .figure("sample_failures", failures.len() as f64)
                .figure("lost_at_evaluation", lost.len() as f64)
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
        if let Some(first) = lost.first() {
            return Ok(figures(Verdict::fail(format!(
                "{} of {} certified blobs could no longer be sampled at evaluation; the first: {first}",
                lost.len(),
                certified.len()
            ))));
        }
        Ok(figures(Verdict::pass(format!(
            "{share:.1} % of {} accepted blobs certified; {verified} samples verified, every certified blob sampled again at evaluation",
            accepted.len()
        ))))
    }
}

/// Chunk 0 of `blob` from any executor that holds it, its proof verified.
async fn sample_now(ctx: &RunContext, blob: &BlobId) -> Result<(), String> {
    let mut why = "no executor holds it any more".to_owned();
    for executor in ctx.nodes_with_role(&Role::Executor) {
        let Some(client) = ctx.client(&executor) else {
            continue;
        };
        match client.sample_blob(blob, 0).await {
            Ok(sample) if node_http::verify_sample(&sample) => return Ok(()),
            Ok(_) => why = format!("{executor}'s proof does not verify"),
            Err(ClientError::NotFound { .. }) => {}
            Err(error) => why = error.to_string(),
        }
    }
    Err(why)
}
