//! testbed's workloads. Every random choice derives from the run's seed
//! (`RunContext::rng`), every fault lands on the timeline, and transactions
//! and blobs are written to a [`Ledger`](scenario_core::ledger::Ledger) that
//! the expectations built with the same ledger judge.
//!
//! * [`TxLoad`]: open-loop transactions at a fixed rate (scheduled against
//!   absolute times, so the rate does not drift), several senders, a payload
//!   size and a choice of target nodes;
//! * [`DaLoad`]: blobs of a given size at a given rate, each sampled and its
//!   proofs verified once certified;
//! * [`Chaos`]: a fault schedule planned from the seed and played during the
//!   window: any [`ChaosAction`] (node stop, start, restart, kill, pause,
//!   resume; any `NetworkFault`) at a time, optionally healed after a while,
//!   plus seeded restarts, partitions and slow links; [`Chaos::plan`] shows
//!   it before the run.
//!
//! Writing your own workload is implementing `scenario_core::Workload`; see
//! the guide's "Writing a workload". Its "Scheduling faults with Chaos"
//! chapter is the manual of [`Chaos`].

mod chaos;
mod da;
mod error;
mod history;
mod rate;
mod target;
mod tx;

pub use chaos::{Chaos, ChaosAction, NodeAction, PlannedFault, ScheduleProblem, Selector};
pub use da::DaLoad;
pub use error::{Error, Result};
pub use history::TX_HISTORY_FILE;
pub use rate::{MAX_BLOB_RATE, MAX_TX_RATE};
pub use target::Targets;
pub use tx::{DEFAULT_MAX_FAILED_SHARE, TxLoad};

/// The guide's chaos chapter, compiled as doctests so its samples match the code.
#[cfg(doctest)]
mod guide {
    #[doc = include_str!("../../../docs/src/chaos.md")]
    struct SchedulingFaultsWithChaos;
}
