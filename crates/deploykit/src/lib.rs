//! What testbed's deployers share, whatever their backend, so that a
//! deployer holds only what is about its backend.
//!
//! | module | the backend-neutral step |
//! |---|---|
//! | [`plan`] | each node's view of the cluster, rendering its launch with overrides, the checks every launch must pass, clients for running nodes |
//! | [`ready`] | the readiness wait with a deadline, for any [`ready::Starting`] node; errors naming every node that failed |
//! | [`probe`] | one readiness probe against a node's endpoints, and the deadline |
//! | [`proxy`] | link proxies: partitions, one-way cuts, latency, loss and bandwidth limits without root |
//! | [`NetworkMode`] | the network plane (one address per node) or the link-proxy fallback |
//! | [`Keep`] | what a run keeps after cleanup (`TESTBED_KEEP*`) |
//! | [`ProcessRef`] | a process identified beyond its pid, so leftovers of a killed runner can be told from a live one's |
//!
//! A deploy with it: render every node with [`plan::view`] and
//! [`plan::render`] before anything starts, start the nodes the backend's
//! way, wait with [`ready::wait_all_ready`], then build clients with
//! [`plan::clients`]. A join does the same for one node, its slot from
//! `NodeSlot::next_of`.

mod keep;
mod network_mode;
pub mod plan;
pub mod probe;
mod process_ref;
pub mod proxy;
pub mod ready;

pub use keep::{KEEP_ENV, KEEP_LOGS_ENV, Keep};
pub use network_mode::NetworkMode;
pub use process_ref::ProcessRef;
