//! The workloads crate's error: why a workload could not start or stopped.

use scenario_core::ControlError;

use crate::chaos::ScheduleProblem;

/// Why a workload of this crate failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A chaos schedule cannot be played on this run.
    #[error("chaos workload \"{workload}\" has an invalid schedule: {}", list(.problems))]
    InvalidSchedule {
        /// The workload's name.
        workload: String,
        /// Every problem found.
        problems: Vec<ScheduleProblem>,
    },
    /// A node action is due but the deployer gave no node control.
    #[error("chaos workload \"{workload}\" cannot {action}: the deployer offers no node control")]
    NoNodeControl {
        /// The workload's name.
        workload: String,
        /// The action due.
        action: String,
    },
    /// A network fault is due but the deployer gave no network control.
    #[error(
        "chaos workload \"{workload}\" cannot apply {action}: the deployer offers no network control"
    )]
    NoNetworkControl {
        /// The workload's name.
        workload: String,
        /// The fault due.
        action: String,
    },
    /// A control action was tried and failed.
    #[error("chaos workload \"{workload}\" could not {action}: {source}")]
    ActionFailed {
        /// The workload's name.
        workload: String,
        /// What was tried.
        action: String,
        /// Why it failed.
        #[source]
        source: ControlError,
    },
    /// The task healing a fault panicked.
    #[error("a chaos heal task panicked: {0}")]
    HealPanicked(String),
}

/// `Result` with this crate's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn list(problems: &[ScheduleProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
