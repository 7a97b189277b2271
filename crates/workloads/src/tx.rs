//! Open-loop transaction load: the i-th transaction is due at
//! `start + i / rate`, whatever happened to the previous ones, so the rate
//! holds over the window without drift; up to `senders` submissions are in
//! flight at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::RngCore;
use scenario_core::NodeSlot;
use scenario_core::ledger::{Ledger, TxRecord, unix_ms};
use scenario_core::prelude::*;
use tokio::sync::Semaphore;

use crate::history::TxBook;
use crate::rate::{MAX_TX_RATE, check_rate};
use crate::target::Targets;

/// Transactions at a fixed rate.
pub struct TxLoad {
    name: String,
    rate: f64,
    payload_size: usize,
    senders: usize,
    targets: Targets,
    ledger: Ledger,
    max_failed_share: f64,
    elapsed_ms: AtomicU64,
    submitted: AtomicU64,
    accepted: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

impl TxLoad {
    /// `rate` transactions per second, 64-byte payloads, 8 senders,
    /// round-robin over every node, recorded in `ledger`.
    pub fn new(rate: f64, ledger: &Ledger) -> Self {
        Self {
            name: "tx-load".to_owned(),
            rate,
            payload_size: 64,
            senders: 8,
            targets: Targets::RoundRobin,
            ledger: ledger.clone(),
            max_failed_share: DEFAULT_MAX_FAILED_SHARE,
            elapsed_ms: AtomicU64::new(0),
            submitted: AtomicU64::new(0),
            accepted: Arc::default(),
            failed: Arc::default(),
        }
    }

    /// Name it (several loads in one scenario need distinct names).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Bytes per transaction (at least 16: the rest is random).
    pub fn payload_size(mut self, size: usize) -> Self {
        self.payload_size = size.max(16);
        self
    }

    /// How many submissions may be in flight at once.
    pub fn senders(mut self, senders: usize) -> Self {
        self.senders = senders.max(1);
        self
    }

    /// Where to send.
    pub fn targets(mut self, targets: Targets) -> Self {
        self.targets = targets;
        self
    }

    /// The share of submissions (0 to 1) that may fail (refused, timed
    /// out, or dropped because every sender was busy) before the load fails
    /// the run; default 0.10.
    pub fn max_failed_share(mut self, share: f64) -> Self {
        self.max_failed_share = share;
        self
    }
}

/// The share of failed submissions a load tolerates by default: a load that
/// mostly failed to submit did not test what it claims to.
pub const DEFAULT_MAX_FAILED_SHARE: f64 = 0.10;

#[async_trait]
impl Workload for TxLoad {
    fn name(&self) -> &str {
        &self.name
    }

    fn requirements(&self) -> Requirements {
        let needs = Requirements::none().node_api().writes(&self.ledger);
        match &self.targets {
            Targets::Role(role) => needs.role(role.clone()),
            _ => needs,
        }
    }

    fn check_plan(&self, _window: Duration, nodes: &[NodeSlot]) -> Result<(), BoxError> {
        check_rate(self.rate, "transactions", MAX_TX_RATE)?;
        if !(0.0..=1.0).contains(&self.max_failed_share) {
            return Err(format!(
                "max_failed_share must be between 0 and 1, not {}",
                self.max_failed_share
            )
            .into());
        }
        self.targets.check(nodes)?;
        Ok(())
    }

    async fn run(&self, ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        let candidates = self.targets.candidates(ctx);
        let mut rng = ctx.rng(&self.name);
        let book = TxBook::open(&self.ledger, ctx);
        let period = Duration::from_secs_f64(1.0 / self.rate);
        let slots = Arc::new(Semaphore::new(self.senders));
        let start = tokio::time::Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0u64.. {
            let due = start + period.mul_f64(n as f64);
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep_until(due) => {}
            }
            let Some(node) = self.targets.pick(&candidates, n, &mut rng).cloned() else {
                return Err("no node to send transactions to".into());
            };
            let Some(client) = ctx.client(&node) else {
                continue;
            };
            let mut payload = vec![0u8; self.payload_size];
            payload[..8].copy_from_slice(&n.to_be_bytes());
            rng.fill_bytes(&mut payload[8..]);
            self.submitted.fetch_add(1, Ordering::Relaxed);
            let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                // Every sender is busy: an open-loop load counts this as failed
                // rather than slowing down.
                self.failed.fetch_add(1, Ordering::Relaxed);
                book.record(TxRecord {
                    id: None,
                    node,
                    submitted_at_ms: unix_ms(),
                    error: Some("every sender was busy".to_owned()),
                });
                continue;
            };
            let (book, accepted, failed) = (
                book.clone(),
                Arc::clone(&self.accepted),
                Arc::clone(&self.failed),
            );
            tasks.spawn(async move {
                let submitted_at_ms = unix_ms();
                let outcome = client.submit_tx(&payload).await;
                drop(permit);
                let (id, error) = match outcome {
                    Ok(id) => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                        (Some(id), None)
                    }
                    Err(error) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        (None, Some(error.to_string()))
                    }
                };
                book.record(TxRecord {
                    id,
                    node,
                    submitted_at_ms,
                    error,
                });
            });
            while tasks.try_join_next().is_some() {}
        }
        // Let submissions in flight finish, briefly.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        let elapsed = start.elapsed();
        self.elapsed_ms.store(
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        let (submitted, failed) = (
            self.submitted.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        );
        let share = failed as f64 / submitted.max(1) as f64;
        if submitted > 0 && share > self.max_failed_share {
            let achieved =
                self.accepted.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64().max(1e-3);
            return Err(format!(
                "{failed} of {submitted} submissions failed ({:.1} %), above the {:.1} % this load allows; it achieved {achieved:.1} accepted transactions per second of the {} asked (allow more with max_failed_share)",
                share * 100.0,
                self.max_failed_share * 100.0,
                self.rate
            )
            .into());
        }
        Ok(())
    }

    fn stats(&self) -> WorkloadStats {
        let mut stats = WorkloadStats {
            submitted: self.submitted.load(Ordering::Relaxed),
            accepted: self.accepted.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            ..WorkloadStats::default()
        };
        stats
            .extra
            .insert("target_rate_per_s".to_owned(), serde_json::json!(self.rate));
        let elapsed_s = self.elapsed_ms.load(Ordering::Relaxed) as f64 / 1000.0;
        if elapsed_s > 0.0 {
            let achieved = stats.accepted as f64 / elapsed_s;
            stats.extra.insert(
                "achieved_rate_per_s".to_owned(),
                serde_json::json!((achieved * 10.0).round() / 10.0),
            );
        }
        stats
    }
}
