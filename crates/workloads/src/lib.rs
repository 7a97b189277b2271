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
//! * [`Chaos`]: a fault schedule planned from the seed (restarts, partitions)
//!   and played during the window; [`Chaos::plan`] shows it before the run.
//!
//! Writing your own workload is implementing `scenario_core::Workload`; see
//! the guide's "Writing a workload".

mod chaos;
mod da;
mod target;
mod tx;

pub use chaos::{Chaos, PlannedFault, Selector};
pub use da::DaLoad;
pub use target::Targets;
pub use tx::TxLoad;
