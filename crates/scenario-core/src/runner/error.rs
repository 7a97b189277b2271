//! Why a run could not start at all: the errors [`Scenario::run`](crate::Scenario::run)
//! returns instead of a report.

use std::path::PathBuf;

use crate::control::Capability;

/// Why [`Scenario::run`](crate::Scenario::run) could not run a scenario at all.
///
/// A run that started always ends in a [`Report`](crate::Report), even when it
/// failed; these errors mean nothing was started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The scenario needs capabilities the deployer does not offer.
    #[error(
        "scenario '{scenario}' cannot run on the {deployer} deployer: it needs {}, which this deployer does not support",
        list(.missing)
    )]
    CapabilitiesMissing {
        /// The scenario's name.
        scenario: String,
        /// The deployer's name.
        deployer: String,
        /// What the scenario needs and the deployer lacks.
        missing: Vec<Capability>,
    },
    /// The run's artifact directory could not be created.
    #[error("could not create the artifact directory {path}: {source}")]
    ArtifactsDirUnavailable {
        /// The directory that could not be created.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The Ctrl-C / SIGTERM handling could not be installed.
    #[error("could not install the Ctrl-C / SIGTERM handler that guarantees cleanup: {0}")]
    SignalHandlerUnavailable(#[source] std::io::Error),
}

fn list(missing: &[Capability]) -> String {
    missing
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
