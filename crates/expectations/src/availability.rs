//! Availability of what the DA workload dispersed: blobs certified in
//! finalized blocks, every sample verified, and certified blobs still served
//! at evaluation (after the cooldown), not only right after they were
//! certified: every one of them up to a thousand, a uniform sample of a
//! thousand on longer runs.

use scenario_core::ledger::Ledger;
use scenario_core::prelude::*;
use scenario_core::{BlobId, ClientError};

use crate::follow::{Follower, not_followed};

mod tally;

use tally::AvailabilityTally;

/// At least `percent` % of dispersed blobs certified, every sample verified.
pub struct DaAvailability {
    ledger: Ledger,
    percent: f64,
    follower: Follower<AvailabilityTally>,
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
            follower: Follower::new(),
        }
    }
}

#[async_trait]
impl Expectation for DaAvailability {
    fn name(&self) -> &str {
        "da-availability"
    }

    fn requirements(&self) -> Requirements {
        Requirements::none()
            .node_api()
            .block_feed()
            .reads(&self.ledger)
    }

    async fn capture(&self, ctx: &RunContext) -> Result<(), BoxError> {
        let tally = AvailabilityTally::new(ctx.rng("da-availability"));
        self.follower.start(ctx, &self.ledger, tally)
    }

    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        let followed = self
            .follower
            .finish()
            .ok_or_else(|| not_followed(self.name()))?;
        if let Some(behind) = followed.fell_behind("which blobs were certified") {
            return Ok(behind);
        }
        let tally = followed.tally;
        let (accepted, certified) = (tally.accepted, tally.certified);
        if accepted == 0 {
            return Ok(Verdict::fail(format!(
                "no blob was accepted ({} dispersed)",
                tally.dispersed
            )));
        }
        let share = 100.0 * certified as f64 / accepted as f64;
        // Sampled once more now, after the cooldown: data that disappears
        // after it was first sampled is lost data.
        let mut lost = Vec::new();
        for (blob, height) in &tally.resample {
            if let Err(why) = sample_now(ctx, blob).await {
                lost.push(format!("blob {blob} (certified at height {height}): {why}"));
            }
        }
        let resampled = tally.resample.len();
        let figures = |v: Verdict| {
            v.figure("accepted", accepted as f64)
                .figure("certified", certified as f64)
                .figure("certified_percent", share)
                .figure("samples_verified", tally.samples_verified as f64)
                .figure("sample_failures", tally.sample_failures as f64)
                .figure("sampled_at_evaluation", resampled as f64)
                .figure("lost_at_evaluation", lost.len() as f64)
        };
        if let Some(first) = &tally.first_failure {
            return Ok(figures(Verdict::fail(format!(
                "{} samples failed; the first: {first}",
                tally.sample_failures
            ))));
        }
        if share < self.percent {
            return Ok(figures(Verdict::fail(format!(
                "{share:.1} % of {accepted} accepted blobs were certified, below {} %",
                self.percent
            ))));
        }
        if let Some(first) = lost.first() {
            return Ok(figures(Verdict::fail(format!(
                "{} of the {resampled} certified blobs checked could no longer be sampled at evaluation; the first: {first}",
                lost.len(),
            ))));
        }
        let again = if resampled as u64 == certified {
            "every certified blob sampled again at evaluation".to_owned()
        } else {
            format!(
                "{resampled} of the {certified} certified blobs, chosen uniformly, sampled again at evaluation"
            )
        };
        Ok(figures(Verdict::pass(format!(
            "{share:.1} % of {accepted} accepted blobs certified; {} samples verified, {again}",
            tally.samples_verified
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
