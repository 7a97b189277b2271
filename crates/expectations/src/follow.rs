//! Follows a run while it goes, for the expectations that judge what the
//! workloads did. Four times a second the ledger's new entries and the feed's
//! new finalized blocks go to a [`Tally`], which keeps a bounded summary;
//! evaluation catches up once more and judges the tally. The run's history
//! lives in its artifacts (`blocks.ndjson`), not in the runner's memory, so
//! an hour costs what ten minutes cost.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use scenario_core::ledger::{Ledger, LedgerEntry, LedgerReader};
use scenario_core::{
    BlockFeed, BoxError, FaultWindow, ObservedBlock, RunContext, Timeline, Verdict, fault_windows,
};
use tokio::task::AbortHandle;

/// How often the follower catches up.
const EVERY: Duration = Duration::from_millis(250);

/// What an expectation keeps while it follows the run.
pub(crate) trait Tally: Send + 'static {
    /// A ledger entry, in the order the workloads wrote them.
    fn entry(&mut self, entry: LedgerEntry, now: &Now);

    /// A finalized block: every height once, in order.
    fn block(&mut self, block: &ObservedBlock, now: &Now);

    /// After each catch-up.
    fn caught_up(&mut self, now: &Now) {
        let _ = now;
    }
}

/// Where the run is in time, for a tally placing what it reads.
pub(crate) struct Now {
    /// Now, unix milliseconds.
    pub(crate) unix_ms: u64,
    /// When the run started, unix milliseconds.
    pub(crate) run_started_ms: u64,
    /// The fault windows on the timeline so far, node actions under way
    /// included ([`Timeline::live_events`]).
    pub(crate) windows: Vec<FaultWindow>,
}

impl Now {
    fn of(timeline: &Timeline) -> Self {
        let unix_ms = scenario_core::ledger::unix_ms();
        Self {
            unix_ms,
            run_started_ms: unix_ms.saturating_sub(timeline.elapsed_ms()),
            windows: fault_windows(&timeline.live_events()),
        }
    }

    /// Milliseconds since the run started of a unix time.
    pub(crate) fn in_run(&self, unix_ms: u64) -> u64 {
        unix_ms.saturating_sub(self.run_started_ms)
    }
}

/// A tally after its last catch-up.
pub(crate) struct Followed<T> {
    pub(crate) tally: T,
    pub(crate) now: Now,
    /// Heights the feed no longer held when the follower asked for them:
    /// judging them is impossible.
    pub(crate) missed_heights: u64,
}

impl<T> Followed<T> {
    /// The failed verdict when the follower missed heights: it cannot tell
    /// `what` then, and says so rather than guess.
    pub(crate) fn fell_behind(&self, what: &str) -> Option<Verdict> {
        (self.missed_heights > 0).then(|| {
            Verdict::fail(format!(
                "the block feed no longer held {} finalized heights when this judge read them (the runner was starved for minutes, or a node reported heights out of order), so it cannot tell {what}",
                self.missed_heights
            ))
            .figure("missed_heights", self.missed_heights as f64)
        })
    }
}

struct Progress<T> {
    tally: T,
    reader: LedgerReader,
    feed: Arc<dyn BlockFeed>,
    timeline: Timeline,
    next_height: u64,
    missed_heights: u64,
}

impl<T: Tally> Progress<T> {
    fn catch_up(&mut self) -> Now {
        let now = Now::of(&self.timeline);
        for entry in self.reader.read() {
            self.tally.entry(entry, &now);
        }
        for block in self.feed.finalized_blocks_from(self.next_height) {
            let height = block.block.height;
            self.missed_heights += height.saturating_sub(self.next_height);
            self.next_height = height + 1;
            self.tally.block(&block, &now);
        }
        self.tally.caught_up(&now);
        now
    }
}

/// Keeps a tally up to date from capture to evaluation.
pub(crate) struct Follower<T> {
    progress: Arc<Mutex<Option<Progress<T>>>>,
    task: Mutex<Option<AbortHandle>>,
}

impl<T: Tally> Follower<T> {
    pub(crate) fn new() -> Self {
        Self {
            progress: Arc::new(Mutex::new(None)),
            task: Mutex::new(None),
        }
    }

    /// Start following the run with a fresh tally (at capture, before any
    /// workload starts).
    pub(crate) fn start(
        &self,
        ctx: &RunContext,
        ledger: &Ledger,
        tally: T,
    ) -> Result<(), BoxError> {
        let feed = ctx.block_feed().ok_or(
            "this expectation needs a block feed: add .block_feed(blockfeed::Feed::new())",
        )?;
        *self.lock() = Some(Progress {
            tally,
            reader: ledger.reader(),
            feed: Arc::clone(feed),
            timeline: ctx.timeline().clone(),
            next_height: 1,
            missed_heights: 0,
        });
        let progress = Arc::downgrade(&self.progress);
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(EVERY).await;
                let Some(progress) = progress.upgrade() else {
                    return;
                };
                if let Some(progress) = progress
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_mut()
                {
                    progress.catch_up();
                }
            }
        });
        if let Some(old) = self.task().replace(task.abort_handle()) {
            old.abort();
        }
        Ok(())
    }

    /// Stop following, catch up once more, and hand the tally over; `None`
    /// when following never started.
    pub(crate) fn finish(&self) -> Option<Followed<T>> {
        if let Some(task) = self.task().take() {
            task.abort();
        }
        let mut progress = self.lock().take()?;
        let now = progress.catch_up();
        Some(Followed {
            tally: progress.tally,
            now,
            missed_heights: progress.missed_heights,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Progress<T>>> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn task(&self) -> std::sync::MutexGuard<'_, Option<AbortHandle>> {
        self.task.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T> Drop for Follower<T> {
    fn drop(&mut self) {
        if let Some(task) = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

/// The error for an evaluation without a capture before it.
pub(crate) fn not_followed(name: &str) -> BoxError {
    format!("{name} was not captured before the run, so it followed nothing").into()
}
