//! Data-availability load: blobs of a given size at a given rate, sent to
//! executors in turn; once a blob is in a finalized block (seen on the block
//! feed), `samples` chunks are sampled from its holders and each proof is
//! verified against the blob's commitment.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::{Rng, RngCore};
use scenario_core::ledger::{BlobRecord, Ledger, unix_ms};
use scenario_core::prelude::*;
use scenario_core::{BlobId, ClientError, NodeSlot};

use crate::rate::{MAX_BLOB_RATE, check_rate};

/// How long a blob seen certified waits for its dispersal's answer.
const CERTIFIED_FOR_MS: u64 = 120_000;

/// The blobs seen certified in new finalized blocks, until the load takes
/// them (a block can come before the answer to the dispersal).
#[derive(Default)]
struct Certified {
    /// Blob, and when it was seen (unix ms).
    seen: HashMap<BlobId, u64>,
    next_height: u64,
    /// Heights the feed no longer held when asked.
    skipped: u64,
}

impl Certified {
    /// Read the blocks finalized since the last call.
    fn catch_up(&mut self, ctx: &RunContext) {
        let Some(feed) = ctx.block_feed() else {
            return;
        };
        let now = unix_ms();
        self.next_height = self.next_height.max(1);
        for observed in feed.finalized_blocks_from(self.next_height) {
            self.skipped += observed.block.height.saturating_sub(self.next_height);
            self.next_height = observed.block.height + 1;
            for blob in observed.block.blobs {
                self.seen.entry(blob).or_insert(now);
            }
        }
        self.seen
            .retain(|_, seen| seen.saturating_add(CERTIFIED_FOR_MS) > now);
    }

    /// Whether `blob` was seen certified; it is forgotten then.
    fn take(&mut self, blob: &BlobId) -> bool {
        self.seen.remove(blob).is_some()
    }
}

/// Blobs at a fixed rate, with verified samples.
pub struct DaLoad {
    rate: f64,
    blob_size: usize,
    samples: u32,
    ledger: Ledger,
    dispersed: AtomicU64,
    accepted: AtomicU64,
    failed: AtomicU64,
}

impl DaLoad {
    /// `rate` blobs per second of `blob_size` bytes, 3 samples each.
    pub fn new(rate: f64, blob_size: usize, ledger: &Ledger) -> Self {
        Self {
            rate,
            blob_size: blob_size.max(1),
            samples: 3,
            ledger: ledger.clone(),
            dispersed: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    /// How many chunks of each certified blob to sample.
    pub fn samples(mut self, samples: u32) -> Self {
        self.samples = samples;
        self
    }

    /// Sample chunk 0 (which tells the chunk count), then random chunks.
    async fn sample(&self, ctx: &RunContext, blob: &BlobId, rng: &mut rand_chacha::ChaCha8Rng) {
        let executors = ctx.nodes_with_role(&Role::Executor);
        let mut chunk_count = 1;
        for round in 0..self.samples {
            let chunk = if round == 0 {
                0
            } else {
                rng.random_range(0..chunk_count)
            };
            let mut outcome = Err(format!("no executor holds blob {blob}"));
            for executor in &executors {
                let Some(client) = ctx.client(executor) else {
                    continue;
                };
                match client.sample_blob(blob, chunk).await {
                    Ok(sample) if node_http::verify_sample(&sample) => {
                        chunk_count = sample.chunk_count.max(1);
                        outcome = Ok(());
                        break;
                    }
                    Ok(_) => {
                        outcome = Err(format!(
                            "{executor}'s proof for chunk {chunk} of {blob} does not verify"
                        ));
                        break;
                    }
                    Err(ClientError::NotFound { .. }) => continue,
                    Err(error) => outcome = Err(error.to_string()),
                }
            }
            self.ledger.sampled(blob, outcome);
        }
    }
}

#[async_trait]
impl Workload for DaLoad {
    fn name(&self) -> &str {
        "da-load"
    }

    fn requirements(&self) -> Requirements {
        // The feed tells which blobs are certified, to sample them.
        Requirements::none()
            .role(Role::Executor)
            .node_api()
            .writes(&self.ledger)
            .block_feed()
    }

    fn check_plan(&self, _window: Duration, _nodes: &[NodeSlot]) -> Result<(), BoxError> {
        Ok(check_rate(self.rate, "blobs", MAX_BLOB_RATE)?)
    }

    async fn run(&self, ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        let executors = ctx.nodes_with_role(&Role::Executor);
        let mut rng = ctx.rng("da-load");
        let period = Duration::from_secs_f64(1.0 / self.rate.max(0.001));
        let start = tokio::time::Instant::now();
        // Accepted blobs not yet seen certified, and the blobs seen certified.
        let mut pending: Vec<BlobId> = Vec::new();
        let mut certified = Certified::default();
        'load: for n in 0u64.. {
            let due = start + period.mul_f64(n as f64);
            // Wait, reading new blocks at least every second meanwhile: the
            // feed holds recent blocks only.
            loop {
                let step = due.min(tokio::time::Instant::now() + Duration::from_secs(1));
                tokio::select! {
                    () = cancel.cancelled() => break 'load,
                    () = tokio::time::sleep_until(step) => {}
                }
                certified.catch_up(ctx);
                if step >= due {
                    break;
                }
            }
            let node = executors[usize::try_from(n % executors.len() as u64).unwrap_or(0)].clone();
            let Some(client) = ctx.client(&node) else {
                continue;
            };
            let mut blob = vec![0u8; self.blob_size];
            rng.fill_bytes(&mut blob);
            self.dispersed.fetch_add(1, Ordering::Relaxed);
            let dispersed_at_ms = unix_ms();
            let record = |id, error| BlobRecord {
                id,
                node: node.clone(),
                dispersed_at_ms,
                error,
            };
            match client.disperse_blob(&blob).await {
                Ok(id) => {
                    self.accepted.fetch_add(1, Ordering::Relaxed);
                    self.ledger.blob(record(Some(id.clone()), None));
                    pending.push(id);
                }
                Err(error) => {
                    self.failed.fetch_add(1, Ordering::Relaxed);
                    self.ledger.blob(record(None, Some(error.to_string())));
                }
            }
            // Sample the blobs that are certified by now.
            certified.catch_up(ctx);
            let (ready, waiting): (Vec<_>, Vec<_>) =
                pending.drain(..).partition(|id| certified.take(id));
            pending = waiting;
            for id in ready {
                self.sample(ctx, &id, &mut rng).await;
            }
        }
        if certified.skipped > 0 {
            return Err(format!(
                "the DA load fell behind the block feed and skipped {} finalized heights: blobs certified there were not sampled",
                certified.skipped
            )
            .into());
        }
        Ok(())
    }

    fn stats(&self) -> WorkloadStats {
        WorkloadStats {
            submitted: self.dispersed.load(Ordering::Relaxed),
            accepted: self.accepted.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            ..WorkloadStats::default()
        }
    }
}
