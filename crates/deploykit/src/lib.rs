//! What testbed's deployers share, whatever their backend: [`proxy`], link
//! proxies that give partitions, one-way cuts, latency, loss and bandwidth
//! limits without root; [`probe`], readiness probes against a node's
//! endpoints; [`Keep`], what a run keeps after cleanup; and [`ProcessRef`], a process identified beyond its pid, so
//! leftovers of a killed runner can be told from those of a live one.
//!
//! A deployer routes each directed peer link through a [`proxy::Proxy`] it
//! owns and hands [`proxy::Links`] to the runner as its `NetworkControl`;
//! it polls [`probe::Prober::probe_once`] until a node answers its
//! `Readiness`, at most [`probe::ready_deadline`].

mod keep;
pub mod probe;
mod process_ref;
pub mod proxy;

pub use keep::{KEEP_ENV, KEEP_LOGS_ENV, Keep};
pub use process_ref::ProcessRef;
