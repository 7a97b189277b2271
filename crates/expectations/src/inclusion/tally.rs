//! What transaction inclusion keeps while the run goes: the accepted
//! transactions not yet seen in a finalized block, and for the included ones
//! only latency histograms and a thinned plot, so memory does not grow with
//! the run's length.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use hdrhistogram::Histogram;
use scenario_core::ledger::{LedgerEntry, TxRecord};
use scenario_core::thinned::Thinned;
use scenario_core::{FaultWindow, NodeId, ObservedBlock, TxId};

use crate::follow::{Now, Tally};

/// How long after a fault ends transactions still count as sent under it.
const AFTER_FAULT: Duration = Duration::from_secs(2);

/// How soon after a transaction was sent a fault that begins still counts
/// as having caught it on its way.
const IN_FLIGHT: Duration = Duration::from_secs(2);

/// How long a block's transactions wait for their ledger entries (a block
/// can be finalized before the submission's answer is written down).
const EARLY_FOR_MS: u64 = 60_000;

/// Points kept for the latency plot.
const PLOT_POINTS: usize = 2000;

/// Latencies above this (an hour) are recorded as an hour.
const LONGEST_MS: u64 = 3_600_000;

/// One included transaction, until it is old enough to be judged.
struct Included {
    submitted_at_ms: u64,
    latency_ms: u64,
    calm: bool,
}

/// The running summary of a ledger's transactions against the feed.
pub(crate) struct InclusionTally {
    settle_ms: u64,
    pub(super) submitted: u64,
    pub(super) accepted: u64,
    /// Accepted, not yet seen in a finalized block, by id, with their
    /// place in the ledger.
    pending: HashMap<TxId, (u64, TxRecord)>,
    /// Seen in a finalized block before their ledger entry: commit time and
    /// when they were seen.
    early: HashMap<TxId, (u64, u64)>,
    /// Included, but sent less than the settle time ago.
    recent: VecDeque<Included>,
    /// Latencies (ms) of the judged included transactions, and of those
    /// among them no fault touched (see `touched_by_fault`).
    pub(super) all: Histogram<u64>,
    pub(super) calm: Histogram<u64>,
    /// `[s since start, latency ms]` by inclusion.
    pub(super) points: Thinned<[f64; 2]>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LONGEST_MS, 3)
        .expect("1 ms to an hour at 3 significant digits is a valid histogram")
}

impl InclusionTally {
    pub(crate) fn new(settle: Duration) -> Self {
        Self {
            settle_ms: u64::try_from(settle.as_millis()).unwrap_or(u64::MAX),
            submitted: 0,
            accepted: 0,
            pending: HashMap::new(),
            early: HashMap::new(),
            recent: VecDeque::new(),
            all: histogram(),
            calm: histogram(),
            points: Thinned::new(PLOT_POINTS),
        }
    }

    fn include(&mut self, record: &TxRecord, committed_at_ms: u64, now: &Now) {
        let latency_ms = committed_at_ms.saturating_sub(record.submitted_at_ms);
        let sent = now.in_run(record.submitted_at_ms);
        let committed = now.in_run(committed_at_ms);
        self.recent.push_back(Included {
            submitted_at_ms: record.submitted_at_ms,
            latency_ms,
            calm: !touched_by_fault(&now.windows, sent, committed),
        });
        self.points.push([sent as f64 / 1000.0, latency_ms as f64]);
    }

    /// Judge the included transactions sent at least the settle time before
    /// `unix_ms`.
    fn fold_settled(&mut self, unix_ms: u64) {
        let settle_ms = self.settle_ms;
        let (all, calm) = (&mut self.all, &mut self.calm);
        self.recent.retain(|included| {
            if included.submitted_at_ms.saturating_add(settle_ms) > unix_ms {
                return true;
            }
            all.saturating_record(included.latency_ms);
            if included.calm {
                calm.saturating_record(included.latency_ms);
            }
            false
        });
    }

    /// The accepted transactions never seen finalized and sent at least the
    /// settle time before now, and how many of them were sent to a node
    /// just before or while it was down (the fault lost them).
    pub(super) fn missing(&mut self, now: &Now) -> (Vec<TxRecord>, usize) {
        self.fold_settled(now.unix_ms);
        let mut missing: Vec<&(u64, TxRecord)> = Vec::new();
        let mut lost_with_node = 0;
        for entry in self.pending.values() {
            let record = &entry.1;
            if record.submitted_at_ms.saturating_add(self.settle_ms) > now.unix_ms {
                continue;
            }
            if lost_with_its_node(
                &now.windows,
                &record.node,
                now.in_run(record.submitted_at_ms),
            ) {
                lost_with_node += 1;
            } else {
                missing.push(entry);
            }
        }
        missing.sort_by_key(|(place, _)| *place);
        let missing = missing
            .into_iter()
            .map(|(_, record)| record.clone())
            .collect();
        (missing, lost_with_node)
    }
}

impl Tally for InclusionTally {
    fn entry(&mut self, entry: LedgerEntry, now: &Now) {
        let LedgerEntry::Tx(record) = entry else {
            return;
        };
        self.submitted += 1;
        let Some(id) = record.id.clone() else {
            return;
        };
        self.accepted += 1;
        match self.early.remove(&id) {
            Some((committed_at_ms, _)) => self.include(&record, committed_at_ms, now),
            None => {
                self.pending.insert(id, (self.accepted, record));
            }
        }
    }

    fn block(&mut self, observed: &ObservedBlock, now: &Now) {
        for id in &observed.block.txs {
            match self.pending.remove(id) {
                Some((_, record)) => self.include(&record, observed.block.committed_at_ms, now),
                None => {
                    self.early
                        .entry(id.clone())
                        .or_insert((observed.block.committed_at_ms, now.unix_ms));
                }
            }
        }
    }

    fn caught_up(&mut self, now: &Now) {
        self.fold_settled(now.unix_ms);
        self.early
            .retain(|_, (_, seen)| seen.saturating_add(EARLY_FOR_MS) > now.unix_ms);
    }
}

/// Whether a fault touched a transaction sent `sent_ms` into the run and
/// finalized at `committed_ms`: it was sent under a fault (or shortly after
/// one healed), or a fault began while it was on its way, within
/// [`IN_FLIGHT`] of its sending (a leader stopped just after it took the
/// transaction delays it by an election). A transaction still not included
/// [`IN_FLIGHT`] after it was sent was slow on its own, whatever came later.
fn touched_by_fault(windows: &[FaultWindow], sent_ms: u64, committed_ms: u64) -> bool {
    let after = u64::try_from(AFTER_FAULT.as_millis()).unwrap_or(u64::MAX);
    let in_flight = u64::try_from(IN_FLIGHT.as_millis()).unwrap_or(u64::MAX);
    let on_its_way = sent_ms..committed_ms.min(sent_ms.saturating_add(in_flight));
    windows.iter().any(|window| {
        let until = window
            .until_ms
            .map_or(u64::MAX, |u| u.saturating_add(after));
        (window.from_ms..until).contains(&sent_ms) || on_its_way.contains(&window.from_ms)
    })
}

/// Whether a transaction sent to `node` at `sent_ms` may have been lost with
/// that node's mempool, a fault's doing rather than a silent drop:
/// * sent while the node was down, or shortly before it went down (its
///   window starts when the stop was asked for, however long the backend
///   then took, and a node that is told to stop may still accept until it
///   is gone);
/// * or sent while the node was cut off from the majority (on the smaller
///   side of a partition, or an end of a cut link), shortly before or
///   during, and the node went down before it was reconnected: the
///   transaction could not leave it, then went with it.
fn lost_with_its_node(windows: &[FaultWindow], node: &NodeId, sent_ms: u64) -> bool {
    let margin = u64::try_from(AFTER_FAULT.as_millis()).unwrap_or(u64::MAX);
    let span = |window: &FaultWindow| {
        window.from_ms.saturating_sub(margin)..window.until_ms.unwrap_or(u64::MAX)
    };
    let downs: Vec<&FaultWindow> = windows
        .iter()
        .filter(|w| {
            matches!(w.disruption, scenario_core::Disruption::NodeDown { .. })
                && w.node() == Some(node)
        })
        .collect();
    if downs.iter().any(|down| span(down).contains(&sent_ms)) {
        return true;
    }
    windows
        .iter()
        .filter(|window| window.cuts_off(node) && span(window).contains(&sent_ms))
        .any(|isolated| {
            let until = isolated
                .until_ms
                .map_or(u64::MAX, |u| u.saturating_add(margin));
            downs
                .iter()
                .any(|down| (sent_ms..until).contains(&down.from_ms))
        })
}

#[cfg(test)]
mod tests {
    use scenario_core::{Block, NodeId, ObservedBlock, TxId};

    use super::*;

    fn now(unix_ms: u64) -> Now {
        Now {
            unix_ms,
            run_started_ms: 0,
            windows: Vec::new(),
        }
    }

    fn sent(id: &str, at: u64) -> LedgerEntry {
        LedgerEntry::Tx(TxRecord {
            id: Some(TxId(id.to_owned())),
            node: NodeId::new("validator-0"),
            submitted_at_ms: at,
            error: None,
        })
    }

    fn block(height: u64, committed_at_ms: u64, txs: &[&str]) -> ObservedBlock {
        ObservedBlock {
            node: NodeId::new("validator-0"),
            block: Block {
                height,
                hash: format!("h{height}"),
                parent: String::new(),
                proposer: NodeId::new("validator-0"),
                committed_at_ms,
                finalized: true,
                txs: txs.iter().map(|t| TxId((*t).to_owned())).collect(),
                blobs: Vec::new(),
            },
            observed_at_ms: committed_at_ms,
        }
    }

    #[test]
    fn a_block_seen_before_its_ledger_entry_still_includes_the_transaction() {
        let mut tally = InclusionTally::new(Duration::from_secs(3));
        tally.block(&block(1, 1_200, &["early"]), &now(1_300));
        tally.entry(sent("early", 1_000), &now(1_400));
        tally.entry(sent("late", 1_000), &now(1_400));
        let (missing, lost) = tally.missing(&now(10_000));
        assert_eq!(tally.all.len(), 1);
        assert_eq!(tally.all.value_at_quantile(0.5), 200);
        assert_eq!(lost, 0);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].id, Some(TxId("late".to_owned())));
    }

    #[test]
    fn transactions_sent_within_the_settle_time_are_not_judged_yet() {
        let mut tally = InclusionTally::new(Duration::from_secs(3));
        tally.entry(sent("old", 1_000), &now(1_000));
        tally.entry(sent("new", 9_000), &now(9_000));
        tally.entry(sent("new-missing", 9_000), &now(9_000));
        tally.block(&block(1, 9_500, &["old", "new"]), &now(9_600));
        let (missing, _) = tally.missing(&now(10_000));
        assert_eq!(tally.all.len(), 1, "only the one sent 3 s or more ago");
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn memory_holds_only_what_is_not_yet_included() {
        let mut tally = InclusionTally::new(Duration::from_secs(3));
        for n in 0..20_000u64 {
            let id = format!("tx-{n}");
            tally.entry(sent(&id, n), &now(n));
            tally.block(&block(n + 1, n + 100, &[&id]), &now(n + 100));
            tally.caught_up(&now(n + 100));
        }
        tally.caught_up(&now(100_000));
        assert!(tally.pending.is_empty() && tally.early.is_empty() && tally.recent.is_empty());
        assert_eq!(tally.all.len(), 20_000);
        assert!(tally.points.points().len() <= PLOT_POINTS + 1);
    }

    #[test]
    fn a_fault_that_begins_while_a_transaction_is_on_its_way_touches_it() {
        use scenario_core::{Disruption, FaultWindow};
        let stop = FaultWindow {
            from_ms: 24_218,
            until_ms: Some(37_849),
            disruption: Disruption::NodeDown {
                node: NodeId::new("validator-1"),
                cause: None,
            },
        };
        let windows = [stop];
        // Sent 50 ms before the leader was told to stop, finalized after
        // the election 5.5 s later.
        assert!(touched_by_fault(&windows, 24_168, 29_691));
        // Finalized before the stop began: untouched.
        assert!(!touched_by_fault(&windows, 23_768, 24_036));
        // Still on its way 2 s after it was sent, before any fault: slow on
        // its own.
        assert!(!touched_by_fault(&windows, 21_000, 30_000));
        // Sent during the stop, or within 2 s after the start: touched.
        assert!(touched_by_fault(&windows, 30_000, 30_200));
        assert!(touched_by_fault(&windows, 39_000, 39_200));
        assert!(!touched_by_fault(&windows, 40_000, 40_200));
    }

    #[test]
    fn a_transaction_held_by_a_partitioned_node_that_then_went_down_was_lost_with_it() {
        use scenario_core::{Disruption, FaultWindow, NetworkFault};
        let v3 = NodeId::new("validator-3");
        let partition = FaultWindow {
            from_ms: 843_822,
            until_ms: Some(963_823),
            disruption: Disruption::Network {
                id: None,
                fault: Some(NetworkFault::Partition {
                    groups: vec![
                        vec![v3.clone()],
                        ["validator-0", "validator-1", "validator-2"]
                            .map(NodeId::new)
                            .to_vec(),
                    ],
                }),
            },
        };
        let down = |from_ms| FaultWindow {
            from_ms,
            until_ms: Some(from_ms + 5_000),
            disruption: Disruption::NodeDown {
                node: v3.clone(),
                cause: None,
            },
        };
        // Sent just before the partition, stopped during it: lost with it.
        let windows = vec![partition.clone(), down(951_483)];
        assert!(lost_with_its_node(&windows, &v3, 843_700));
        // The majority side could include it: not excused.
        assert!(!lost_with_its_node(
            &windows,
            &NodeId::new("validator-0"),
            843_700
        ));
        // Partitioned but never stopped: it should have come out after the heal.
        assert!(!lost_with_its_node(
            std::slice::from_ref(&partition),
            &v3,
            843_700
        ));
        // Stopped long after the partition healed: a silent drop.
        assert!(!lost_with_its_node(
            &[partition, down(1_200_000)],
            &v3,
            843_700
        ));
    }
}
