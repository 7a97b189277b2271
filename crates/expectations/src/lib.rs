//! testbed's expectations. Each failure message names the nodes, heights,
//! windows and figures behind it, and each verdict carries those figures.
//!
//! * [`Liveness`]: the chain's finalized height advances by at least k blocks
//!   in every window W of the run;
//! * [`TxInclusion`]: at least X % of accepted transactions are finalized,
//!   with optional bounds on inclusion latency percentiles;
//! * [`DaAvailability`]: at least X % of dispersed blobs are certified and
//!   every sample verified;
//! * [`Agreement`]: no two nodes finalized different blocks at one height;
//! * [`Recovery`]: after the window, every node reaches the same finalized
//!   tip within T;
//! * [`MetricAtLeast`]: a Prometheus metric of every node (or of a role)
//!   reaches a value;
//! * [`LogLines`]: node logs must, or must not, contain a text;
//! * [`RunnerResources`]: the runner itself stayed bounded (resident memory,
//!   open descriptors; CPU reported), for soaks;
//! * [`check`]: a custom expectation from one closure.
//!
//! Inclusion and availability read the [`Ledger`](scenario_core::ledger::Ledger)
//! the workloads wrote and the blocks the block feed saw, while the run goes,
//! and keep bounded summaries: their memory does not grow with the run.

mod agreement;
mod availability;
mod custom;
mod follow;
mod inclusion;
mod liveness;
mod logs;
mod metrics;
mod recovery;
mod resources;

pub use agreement::Agreement;
pub use availability::DaAvailability;
pub use custom::{Check, check};
pub use inclusion::TxInclusion;
pub use liveness::Liveness;
pub use logs::LogLines;
pub use metrics::MetricAtLeast;
pub use recovery::Recovery;
pub use resources::{RESOURCES_FILE, RunnerResources};

/// The nodes an expectation looks at: every node, or those of `role`.
pub(crate) fn selected(
    ctx: &scenario_core::RunContext,
    role: Option<&scenario_core::Role>,
) -> Vec<scenario_core::NodeSlot> {
    ctx.nodes()
        .into_iter()
        .filter(|slot| role.is_none_or(|role| &slot.role == role))
        .collect()
}
