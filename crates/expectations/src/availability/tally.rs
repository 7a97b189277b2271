//! What DA availability keeps while the run goes: the accepted blobs not yet
//! seen certified, counts of samples, and a uniform sample of at most
//! [`RESAMPLED`] certified blobs to sample again at evaluation, so memory
//! does not grow with the run's length.

use std::collections::{HashMap, HashSet};

use rand::Rng as _;
use rand_chacha::ChaCha8Rng;
use scenario_core::ledger::LedgerEntry;
use scenario_core::{BlobId, ObservedBlock};

use crate::follow::{Now, Tally};

/// Certified blobs sampled again at evaluation, at most: all of them on
/// shorter runs, a uniform sample (reservoir) on longer ones.
const RESAMPLED: usize = 1000;

/// How long a block's blobs wait for their ledger entries.
const EARLY_FOR_MS: u64 = 60_000;

/// The running summary of a ledger's blobs against the feed.
pub(crate) struct AvailabilityTally {
    pub(super) dispersed: u64,
    pub(super) accepted: u64,
    pub(super) certified: u64,
    /// Accepted, not yet seen in a finalized block.
    waiting: HashSet<BlobId>,
    /// Seen in a finalized block before their ledger entry: the height and
    /// when they were seen.
    early: HashMap<BlobId, (u64, u64)>,
    /// Certified blobs to sample again at evaluation, with their height.
    pub(super) resample: Vec<(BlobId, u64)>,
    rng: ChaCha8Rng,
    pub(super) samples_verified: u64,
    pub(super) sample_failures: u64,
    pub(super) first_failure: Option<String>,
}

impl AvailabilityTally {
    pub(crate) fn new(rng: ChaCha8Rng) -> Self {
        Self {
            dispersed: 0,
            accepted: 0,
            certified: 0,
            waiting: HashSet::new(),
            early: HashMap::new(),
            resample: Vec::new(),
            rng,
            samples_verified: 0,
            sample_failures: 0,
            first_failure: None,
        }
    }

    fn certify(&mut self, blob: BlobId, height: u64) {
        self.certified += 1;
        if self.resample.len() < RESAMPLED {
            self.resample.push((blob, height));
            return;
        }
        let slot = self.rng.random_range(0..self.certified);
        if let Some(kept) = usize::try_from(slot)
            .ok()
            .and_then(|slot| self.resample.get_mut(slot))
        {
            *kept = (blob, height);
        }
    }
}

impl Tally for AvailabilityTally {
    fn entry(&mut self, entry: LedgerEntry, _now: &Now) {
        match entry {
            LedgerEntry::Blob(record) => {
                self.dispersed += 1;
                let Some(id) = record.id else {
                    return;
                };
                self.accepted += 1;
                match self.early.remove(&id) {
                    Some((height, _)) => self.certify(id, height),
                    None => {
                        self.waiting.insert(id);
                    }
                }
            }
            LedgerEntry::Sampled { outcome, .. } => match outcome {
                Ok(()) => self.samples_verified += 1,
                Err(why) => {
                    self.sample_failures += 1;
                    self.first_failure.get_or_insert(why);
                }
            },
            LedgerEntry::Tx(_) => {}
        }
    }

    fn block(&mut self, observed: &ObservedBlock, now: &Now) {
        for blob in &observed.block.blobs {
            if self.waiting.remove(blob) {
                self.certify(blob.clone(), observed.block.height);
            } else {
                self.early
                    .entry(blob.clone())
                    .or_insert((observed.block.height, now.unix_ms));
            }
        }
    }

    fn caught_up(&mut self, now: &Now) {
        self.early
            .retain(|_, (_, seen)| seen.saturating_add(EARLY_FOR_MS) > now.unix_ms);
    }
}
